"""A small energy VAD that cuts a live PCM stream into speech segments."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME_MS = 20


@dataclass
class Segment:
    """One stretch of speech taken out of the stream.

    Attributes:
        seg_id: Sequence number of the segment in its stream.
        pcm: Mono int16 samples (including a short pre-roll).
        start: Stream time of the first sample, in seconds.
        end: Stream time of the end of speech, in seconds.
    """

    seg_id: int
    pcm: np.ndarray
    start: float
    end: float


UNPLACED_MS = 100  # shortest hangover where the end of the words is not known
LONGEST_MS = 300  # a silence this long ends a segment wherever it falls


class Segmenter:
    """Finds speech by frame energy and reports endpoints after a silence hangover.

    An energy gate cannot tell the end of speech from a quiet stretch inside a word (a stop
    closure, a soft fricative); a real recognizer can, because it hears the words. So a hangover
    shorter than :data:`UNPLACED_MS` (Deepgram's default endpointing is 10 ms) applies only
    after the speech run the recognizer placed the audio in has ended (:attr:`run_end`, set
    from an interim decode); until then silence must last :data:`UNPLACED_MS`. A silence of
    :data:`LONGEST_MS` (or of ``endpointing_ms``, when longer) ends a segment in any case.

    Args:
        sample_rate: Rate of the incoming samples.
        endpointing_ms: Silence after speech that ends a segment.
        threshold: Mean absolute amplitude above which a 20 ms frame is voiced.
    """

    def __init__(self, sample_rate: int, endpointing_ms: int, threshold: float = 400.0) -> None:
        self.rate = sample_rate
        self.endpointing_ms = endpointing_ms
        self.threshold = threshold
        self.run_end: float | None = None  # stream time where the placed speech run ends
        self._frame = sample_rate * FRAME_MS // 1000
        self._pending = np.zeros(0, dtype=np.int16)
        self._preroll: deque[np.ndarray] = deque(maxlen=10)
        self._frames: list[np.ndarray] = []
        self._voiced_run = 0
        self._silence_ms = 0
        self._next_id = 0
        self.samples = 0
        self.in_speech = False
        self.seg_id = -1
        self.seg_start = 0.0
        self.last_voice = 0.0

    @property
    def now(self) -> float:
        """Stream time of the samples fed so far, in seconds."""
        return self.samples / self.rate

    @property
    def has_speech(self) -> bool:
        """Whether speech has been collected that no one has taken yet."""
        return bool(self._frames)

    def feed(self, pcm: np.ndarray) -> list[str]:
        """Add samples and return the events they caused, in order.

        Args:
            pcm: Mono int16 samples.

        Returns:
            Events: ``"start"`` when speech begins, ``"end"`` at an endpoint.
        """
        events: list[str] = []
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        n = len(data) // self._frame
        self._pending = data[n * self._frame :]
        for i in range(n):
            frame = data[i * self._frame : (i + 1) * self._frame]
            self.samples += self._frame
            voiced = float(np.abs(frame.astype(np.int32)).mean()) > self.threshold
            if self.in_speech:
                self._frames.append(frame)
                if voiced:
                    self._silence_ms = 0
                    self.last_voice = self.now
                else:
                    self._silence_ms += FRAME_MS
                    if self._ends():
                        self.in_speech = False
                        events.append("end")
                continue
            if self._frames:
                # Speech already ended but not yet taken: keep the tail with it.
                self._frames.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            self._preroll.append(frame)
            if self._voiced_run >= 2:
                self._begin()
                events.append("start")
        return events

    def _ends(self) -> bool:
        """Whether the silence so far ends the segment (see the class docstring)."""
        silence = self._silence_ms
        if silence >= max(self.endpointing_ms, LONGEST_MS):
            return True
        if self.run_end is None:
            return silence >= max(self.endpointing_ms, UNPLACED_MS)
        return silence >= self.endpointing_ms and (
            self.now >= self.run_end + self.endpointing_ms / 1000.0
        )

    def _begin(self) -> None:
        self.in_speech = True
        self.run_end = None
        self._silence_ms = 0
        self.last_voice = self.now
        if not self._frames:
            self._next_id += 1
            self.seg_id = self._next_id
            self._frames = list(self._preroll)
            self.seg_start = self.now - len(self._frames) * FRAME_MS / 1000.0
        self._preroll.clear()
        self._voiced_run = 0

    def snapshot(self) -> Segment | None:
        """Return the speech collected so far without taking it (for interims)."""
        if not self._frames:
            return None
        return Segment(self.seg_id, np.concatenate(self._frames), self.seg_start, self.now)

    def take(self) -> Segment | None:
        """Take the collected speech; a stream still in speech starts a new segment.

        Returns:
            The segment, or None when there is no speech to take.
        """
        if not self._frames:
            return None
        end = self.last_voice + FRAME_MS / 1000.0 if not self.in_speech else self.now
        seg = Segment(self.seg_id, np.concatenate(self._frames), self.seg_start, end)
        self._frames = []
        # A cut in mid-speech: the rest of the utterance becomes a new segment.
        self.in_speech = False
        self.run_end = None
        self._voiced_run = 0
        self._silence_ms = 0
        return seg
