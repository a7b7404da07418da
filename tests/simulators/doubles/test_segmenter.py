"""The STT doubles' endpoint: Deepgram's 10 ms default without cutting words.

An energy gate cannot tell a quiet stretch inside a word from the end of speech, so before the
fix a 10-20 ms endpoint cut sentences into fragments the text-exact double could not place, and
whole sentences came out as empty finals (the slow-low voice lost every word).
"""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.frames.frames import TranscriptionFrame
from pipecat.pipeline.worker import PipelineParams

from bench.voices import synthesize
from simulators.callers.audio import silence
from simulators.doubles.harness import feed_realtime, run_pipeline
from simulators.doubles.segmenter import UNPLACED_MS, Segmenter
from tests.simulators.doubles.test_exact_stt import deepgram, phone, register

RATE = 8000
SENTENCES = ["I'd like to reschedule my appointment to next week.", "I have a toothache."]
VOICES = ["espeak-en-us-slow-low", "espeak-en-us-f3", "festival-slt-hts"]


def _tone(secs: float, amplitude: int = 3000) -> np.ndarray:
    t = np.arange(int(secs * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def _feed(seg: Segmenter, pcm: np.ndarray) -> list[tuple[str, float]]:
    """Feed 20 ms at a time; return each event with the stream time it came at."""
    out = []
    for a in range(0, len(pcm), RATE // 50):
        out += [(e, seg.now) for e in seg.feed(pcm[a : a + RATE // 50])]
    return out


def test_a_quiet_stretch_inside_the_words_does_not_end_them():
    # speech 0.5 s, a 60 ms quiet stop closure, speech to 0.86 s, then silence
    pcm = np.concatenate([_tone(0.5), silence(0.06, RATE), _tone(0.3), silence(0.5, RATE)])
    placed = Segmenter(RATE, endpointing_ms=10)
    events = _feed(placed, pcm[: int(0.4 * RATE)])
    placed.run_end = 0.86  # an interim placed the audio: the run's loud audio ends at 0.86 s
    events += _feed(placed, pcm[int(0.4 * RATE) :])
    assert [e for e, _ in events] == ["start", "end"]
    assert 0.86 < events[1][1] <= 0.86 + 0.04  # the next 20 ms frame after 10 ms of silence

    unplaced = Segmenter(RATE, endpointing_ms=10)
    events = _feed(unplaced, pcm)
    assert [e for e, _ in events] == ["start", "end"]
    assert events[1][1] == pytest.approx(0.86 + UNPLACED_MS / 1000, abs=0.021)


async def test_ten_ms_endpointing_keeps_whole_sentences_after_slow_voice_lost_every_word(doubles):
    utterances = [(synthesize(t, v, RATE), RATE, [t]) for v in VOICES for t in SENTENCES]
    await register(doubles, utterances, stt_endpointing_ms=10, stt_final_ms=50)
    for voice in VOICES:
        for text in SENTENCES:
            speech = phone(synthesize(text, voice, RATE))
            pcm = np.concatenate([silence(0.5, RATE), speech, silence(1.0, RATE)])

            async def drive(worker, collector, pcm=pcm):
                await feed_realtime(worker, pcm.astype("<i2").tobytes(), RATE)

            got = await run_pipeline(
                [deepgram(doubles)],
                drive,
                params=PipelineParams(audio_in_sample_rate=RATE),
                timeout=len(pcm) / RATE + 15,
            )
            assert [f.text for f in got.of(TranscriptionFrame)] == [text], voice
