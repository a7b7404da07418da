import numpy as np
import pytest

from simulators.callers.audio import mulaw_decode, mulaw_encode, pad, resample, speech_pcm
from simulators.callers.listen import PhraseListener, speech_segments

PHRASES = [
    "I would like to book an appointment for tomorrow",
    "Please cancel my appointment",
    "Hello, how can I help you?",
]


@pytest.fixture(scope="module")
def listener():
    return PhraseListener(PHRASES)


def telephone(text: str) -> np.ndarray:
    """espeak at 16 kHz -> 8 kHz -> mu-law wire bytes -> decoded 8 kHz PCM."""
    return mulaw_decode(mulaw_encode(resample(speech_pcm(text, 16000), 16000, 8000)))


@pytest.mark.parametrize("phrase", PHRASES)
def test_distinguishes_phrases_at_16k(listener, phrase):
    assert listener.heard(pad(speech_pcm(phrase, 16000), 16000, 0.3, 0.3), 16000) == phrase


@pytest.mark.parametrize("phrase", PHRASES)
def test_distinguishes_phrases_at_8k_mulaw(listener, phrase):
    assert listener.heard(telephone(phrase), 8000) == phrase


def test_out_of_grammar_audio_is_not_forced(listener):
    assert listener.heard(speech_pcm("the weather is nice today", 16000), 16000) == ""
    assert listener.heard(np.zeros(8000, dtype=np.int16), 8000) == ""


def test_unknown_words_are_refused():
    with pytest.raises(ValueError, match="not in the pocketsphinx dictionary"):
        PhraseListener(["hello qwzxv"])


def test_speech_segments_and_per_segment_decoding(listener):
    a, b = telephone(PHRASES[0]), telephone(PHRASES[1])
    audio = np.concatenate([pad(a, 8000, 0.5, 1.0), pad(b, 8000, 0.0, 0.5)])
    segments = speech_segments(audio, 8000)
    assert len(segments) == 2
    (s0, e0), (s1, e1) = segments
    assert abs(s0 - 0.5) < 0.15 and e0 < s1 - 0.8
    heard = [p for _, _, p in listener.heard_segments(audio, 8000)]
    assert heard == PHRASES[:2]
