"""The acoustic signal: the caller's recent audio on its own clock, and smart-turn v3 over it.

Pipecat's smart-turn analyzer stamps buffered audio with the wall clock and cuts its input by
wall time, so when frames arrive in bursts on a busy machine the model sees a different slice of
audio. Here the audio is positioned by sample count, so the same call gives the same slice, and
the inference runs on the process-wide smart-turn threads without holding up the frame path.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import numpy as np
from pipecat.metrics.metrics import TurnMetricsData

from turntaking import levels
from turntaking.models import SharedSmartTurnAnalyzer, smart_turn_executor

MAX_MODEL_SECS = 8.0  # smart-turn v3 looks at the last 8 s
PRE_SPEECH_SECS = 0.5  # audio kept before the speech start, as Pipecat does


class AudioRing:
    """The last few seconds of caller audio, addressed in seconds of audio received.

    Args:
        keep_secs: How much audio to keep.
    """

    def __init__(self, keep_secs: float = MAX_MODEL_SECS + 1.0) -> None:
        self._keep_secs = keep_secs
        self._rate = 16000
        self._chunks: deque[np.ndarray] = deque()
        self._kept = 0  # samples in _chunks
        self._total = 0  # samples ever appended

    def set_rate(self, rate: int) -> None:
        """The input sample rate (from the pipeline's start)."""
        self._rate = rate

    @property
    def rate(self) -> int:
        """Samples per second."""
        return self._rate

    @property
    def now(self) -> float:
        """Seconds of audio received so far: the audio clock."""
        return self._total / self._rate

    def append(self, audio: bytes) -> None:
        """Add one chunk of int16 mono audio."""
        chunk = np.frombuffer(audio, dtype=np.int16)
        self._chunks.append(chunk)
        self._kept += len(chunk)
        self._total += len(chunk)
        limit = int(self._keep_secs * self._rate)
        while self._chunks and self._kept - len(self._chunks[0]) >= limit:
            self._kept -= len(self._chunks.popleft())

    def since(self, start_secs: float, then_silence_secs: float = 0.0) -> np.ndarray:
        """The audio from ``start_secs`` (audio clock) to now, as far as it is still kept.

        Args:
            start_secs: Where to start, on the audio clock.
            then_silence_secs: Digital silence to append (the quiet still to come).
        """
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        kept_from = self._total - self._kept
        first = max(int(start_secs * self._rate), kept_from) - kept_from
        chunks = list(self._chunks)
        if then_silence_secs > 0:
            chunks.append(np.zeros(int(then_silence_secs * self._rate), dtype=np.int16))
        return np.concatenate(chunks)[first:]


class TurnModel:
    """Smart-turn v3 for one call: the shared ONNX session, on the shared inference threads."""

    def __init__(self) -> None:
        self._analyzer = SharedSmartTurnAnalyzer()

    def set_rate(self, rate: int) -> None:
        """The input sample rate; smart-turn resamples to 16 kHz itself."""
        self._analyzer.set_sample_rate(rate)

    async def probability(self, audio: np.ndarray) -> TurnMetricsData:
        """Probability that the speech in ``audio`` (int16) sounds finished.

        Args:
            audio: The turn's audio from shortly before its speech began to now.

        Returns:
            Pipecat's turn metrics (``probability``, ``is_complete``, processing time).
        """
        samples = audio[-int(MAX_MODEL_SECS * self._analyzer.sample_rate) :]
        floats = samples.astype(np.float32) / 32768.0
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            smart_turn_executor(), self._analyzer._predict_endpoint, floats
        )
        return TurnMetricsData(
            processor="SmartTurnV3",
            is_complete=result["prediction"] == 1,
            probability=float(result["probability"]),
            e2e_processing_time_ms=(time.perf_counter() - started) * 1000,
        )


class VoiceResumption:
    """Notices the caller talking again before the VAD reports it.

    Silero needs ``start_secs`` (0.2 s) of confident speech, and soft onsets take longer, so
    after a mid-sentence pause the VAD can report the resumed speech 0.3-0.6 s late: long
    enough for a decision to answer the first half. Loud audio after the pause (well above the
    silence, relative to the turn's own voice level), or new words from the STT, hold the
    decision until the VAD confirms or the audio falls quiet again.

    Args:
        hold_secs: How long one loud chunk or new word holds the decision.
        min_loud_secs: Loud audio needed before it counts (a click does not).
        ratio: Loud means RMS above this share of the turn's voice level.
        floor: ... and above this absolute RMS (int16).
    """

    def __init__(
        self,
        hold_secs: float = 0.3,
        min_loud_secs: float = 0.06,
        ratio: float = 0.25,
        floor: float = 250.0,
    ) -> None:
        self._hold_secs = hold_secs
        self._min_loud_secs = min_loud_secs
        self._ratio = ratio
        self._floor = floor
        self._voice_level = 0.0
        self._loud_secs = 0.0
        self._until = -1.0

    def reset(self) -> None:
        """A new turn: forget the voice level and any hold."""
        self._voice_level, self._loud_secs, self._until = 0.0, 0.0, -1.0

    def voice(self, audio: bytes) -> bool:
        """A chunk the VAD calls speech: track the caller's voice level (slow average).

        Returns:
            Whether the chunk is loud for the level so far (voice, not the quiet after it).
        """
        rms = levels.rms(audio)
        loud = rms > max(self._floor, self._ratio * self._voice_level)
        self._voice_level = rms if self._voice_level == 0 else 0.95 * self._voice_level + 0.05 * rms
        self._loud_secs = 0.0
        return loud

    def silence(self, audio: bytes, now: float, rate: int) -> None:
        """A chunk after the VAD's stop: is the caller audibly back?"""
        threshold = max(self._floor, self._ratio * self._voice_level)
        if levels.rms(audio) > threshold:
            self._loud_secs += len(audio) / 2 / rate
            if self._loud_secs >= self._min_loud_secs:
                self._until = now + self._hold_secs
        else:
            self._loud_secs = 0.0

    def words(self, now: float) -> None:
        """The STT heard new words after the VAD's stop."""
        self._until = now + self._hold_secs

    def resuming(self, now: float) -> bool:
        """Whether the decision should wait for the VAD to catch up."""
        return now < self._until


class UtteranceEnd:
    """Tells, from the audio alone, that a short utterance has just ended.

    Quiet means a chunk below ``ratio`` of the utterance's loudest chunk (and below ``floor``
    at least); ``quiet_secs`` of it after some voice ends the utterance. Used to end a
    backchannel's pause before the VAD's stop, which comes ``stop_secs`` (0.2 s) and more
    later.

    Args:
        quiet_secs: Quiet needed after the voice.
        ratio: Share of the utterance's peak chunk RMS under which a chunk is quiet.
        floor: Absolute RMS (int16) under which a chunk is always quiet.
    """

    def __init__(self, quiet_secs: float = 0.12, ratio: float = 0.1, floor: float = 150.0):
        self._quiet_needed = quiet_secs
        self._ratio = ratio
        self._floor = floor
        self.reset()

    def reset(self) -> None:
        """A new utterance."""
        self._peak = 0.0
        self._quiet = 0.0
        self._fired = False

    @property
    def ended(self) -> bool:
        """Whether the voice has ended (enough quiet after some voice)."""
        return self._peak > self._floor and self._quiet >= self._quiet_needed

    def feed(self, audio: bytes, rate: int) -> bool:
        """Add a chunk; True once, when the utterance has just ended."""
        samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32)
        rms = float(np.sqrt(np.mean(samples * samples))) if len(samples) else 0.0
        self._peak = max(self._peak, rms)
        if rms < max(self._floor, self._ratio * self._peak):
            self._quiet += len(samples) / rate
        else:
            self._quiet, self._fired = 0.0, False
        if self._peak > self._floor and self._quiet >= self._quiet_needed and not self._fired:
            self._fired = True
            return True
        return False
