"""Answer "what did the bot say?" from captured audio, offline.

``PhraseListener`` runs pocketsphinx (bundled en-us model) constrained by a JSGF grammar made of
the expected phrases, which is exact on espeak and telephone audio where free-form ASR is not.
Audio that matches none of the phrases gives ``""``. ``speech_segments`` finds spoken stretches
by energy.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pocketsphinx
from loguru import logger

from simulators.callers.audio import frame_rms, resample

_DECODER_RATE = 16000
_NOISE_FLOOR = 8.0  # int16 units, about -72 dBFS
_WORD_RE = re.compile(r"[a-z']+")


def normalize(phrase: str) -> str:
    """Lower-case a phrase and keep only its words (what the grammar and hypotheses contain)."""
    return " ".join(_WORD_RE.findall(phrase.lower()))


class PhraseListener:
    """Recognise which of a closed set of phrases was spoken.

    Example:
        >>> listener = PhraseListener(["hello there", "goodbye"])
        >>> listener.heard(pcm, 8000)
        'hello there'
    """

    def __init__(self, phrases: list[str]):
        """Build the decoder and grammar.

        Args:
            phrases: The candidate phrases. Words must be in pocketsphinx's CMU dictionary
                (spell numbers out: "two" not "2"); punctuation and case are ignored.

        Raises:
            ValueError: If there are no phrases or a word is not in the dictionary.
        """
        self._by_norm: dict[str, str] = {}
        for phrase in phrases:
            norm = normalize(phrase)
            if not norm:
                raise ValueError(f"phrase {phrase!r} has no words")
            self._by_norm[norm] = phrase
        if not self._by_norm:
            raise ValueError("PhraseListener needs at least one phrase")
        self._decoder = pocketsphinx.Decoder(lm=None, loglevel="ERROR")
        missing = sorted(
            {w for n in self._by_norm for w in n.split() if self._decoder.lookup_word(w) is None}
        )
        if missing:
            raise ValueError(f"words not in the pocketsphinx dictionary: {missing}")
        alternatives = " | ".join(self._by_norm)
        grammar = f"#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = {alternatives};\n"
        self._decoder.add_jsgf_string("phrases", grammar)
        self._decoder.activate_search("phrases")
        self._lock = threading.Lock()

    @property
    def phrases(self) -> list[str]:
        """The candidate phrases as given."""
        return list(self._by_norm.values())

    def heard(self, pcm: np.ndarray, rate: int) -> str:
        """Decode one stretch of audio.

        Args:
            pcm: Mono int16 PCM holding (at most) one phrase; surrounding silence is fine.
            rate: Its sample rate (8 kHz telephone audio is upsampled to 16 kHz).

        Returns:
            The matching phrase exactly as passed to the constructor, or ``""`` if none matched.
        """
        audio = resample(np.asarray(pcm, dtype=np.int16), rate, _DECODER_RATE).astype(np.float64)
        # Pocketsphinx's grammar search falls apart on long stretches of exact digital zeros
        # (padding, Pipecat's silence); a fixed, faint noise floor keeps it exact and repeatable.
        audio += np.random.default_rng(0).normal(0.0, _NOISE_FLOOR, len(audio))
        audio = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(audio.tobytes(), full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        text = normalize(hyp.hypstr) if hyp is not None else ""
        result = self._by_norm.get(text, "")
        logger.debug(f"PhraseListener heard {text!r} -> {result!r}")
        return result

    def heard_segments(
        self, pcm: np.ndarray, rate: int, min_silence: float = 0.6
    ) -> list[tuple[float, float, str]]:
        """Split audio into spoken segments and decode each one.

        Returns:
            ``(start_secs, end_secs, phrase_or_empty)`` per segment.
        """
        out = []
        for start, end in speech_segments(pcm, rate, min_silence=min_silence):
            a, b = int(max(0.0, start - 0.1) * rate), int((end + 0.1) * rate)
            out.append((start, end, self.heard(pcm[a:b], rate)))
        return out


def speech_segments(
    pcm: np.ndarray,
    rate: int,
    threshold: float = 300.0,
    min_silence: float = 0.3,
    min_speech: float = 0.05,
    frame_ms: float = 10.0,
) -> list[tuple[float, float]]:
    """Energy-based segmentation of audio into spoken segments.

    Args:
        pcm: Mono int16 PCM.
        rate: Sample rate in Hz.
        threshold: RMS (int16 units) above which a frame counts as voiced.
        min_silence: Quieter stretches shorter than this are bridged (seconds).
        min_speech: Segments shorter than this are dropped (seconds).
        frame_ms: Analysis frame length.

    Returns:
        ``(start_secs, end_secs)`` of each segment, in order.
    """
    hop = frame_ms / 1000
    voiced = frame_rms(pcm, rate, frame_ms) > threshold
    segments: list[list[float]] = []
    for i in np.flatnonzero(voiced):
        t = i * hop
        if segments and t - segments[-1][1] < min_silence:
            segments[-1][1] = t + hop
        else:
            segments.append([t, t + hop])
    return [(round(s, 3), round(e, 3)) for s, e in segments if e - s >= min_speech]
