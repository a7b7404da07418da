"""A model of the caller's playout buffer, used to measure what the caller actually hears.

Twilio (like any phone leg) plays the bot's audio in real time from a buffer: a chunk that
arrives while earlier audio is still playing is queued behind it; a chunk that arrives after the
buffer ran dry starts playing at once, and the silence in between is an *underrun gap* the caller
hears. A ``clear`` message discards everything not yet played.

All times are seconds relative to the moment the caller sent ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.callers.audio import frame_rms

_FRAME_SECS = 0.01  # voice detection resolution
_RUN_BRIDGE_SECS = 0.25  # voiced frames closer than this form one voice run


@dataclass
class _Chunk:
    arrival: float
    start: float  # playout start
    pcm: np.ndarray

    @property
    def end(self) -> float:
        return self.start + len(self.pcm) / 8000.0


@dataclass
class Span:
    """A bot utterance on the playout timeline, before slicing audio."""

    start: float
    end: float
    first_arrival: float


@dataclass
class ClearEvent:
    """A ``clear`` received from the bot and how much queued audio it discarded."""

    at: float
    discarded_secs: float


class PlayoutModel:
    """Tracks bot audio as the caller would play it out.

    Args:
        rate: Sample rate of the decoded bot audio.
        voice_threshold: 10 ms frame RMS (int16 units) above which bot audio counts as voiced.
        utterance_gap_secs: Silence (or dry buffer) at least this long splits two bot utterances.
    """

    def __init__(
        self, rate: int = 8000, voice_threshold: float = 300.0, utterance_gap_secs: float = 1.5
    ):
        self.rate = rate
        self.voice_threshold = voice_threshold
        self.utterance_gap_secs = utterance_gap_secs
        self.chunks: list[_Chunk] = []
        self.runs: list[list[float]] = []  # voiced playout intervals [start, end]
        self.run_arrivals: list[float] = []  # arrival time of the chunk that opened each run
        self.dry_gaps: list[tuple[float, float]] = []  # (buffer ran dry at, next audio arrived)
        self.clears: list[ClearEvent] = []
        self.playout_end = 0.0
        self.received_secs = 0.0

    def on_media(self, t: float, pcm: np.ndarray) -> None:
        """Queue a chunk of bot audio that arrived at ``t``."""
        if len(pcm) == 0:
            return
        if self.chunks and t > self.playout_end:
            self.dry_gaps.append((self.playout_end, t))
        start = max(t, self.playout_end)
        chunk = _Chunk(arrival=t, start=start, pcm=np.asarray(pcm, dtype=np.int16))
        self.chunks.append(chunk)
        self.playout_end = chunk.end
        self.received_secs += len(pcm) / self.rate
        n = int(self.rate * _FRAME_SECS)
        for i in np.flatnonzero(frame_rms(chunk.pcm, self.rate) > self.voice_threshold):
            a = float(start + i * n / self.rate)
            b = a + _FRAME_SECS
            if self.runs and a - self.runs[-1][1] < _RUN_BRIDGE_SECS and not self._cleared_between(
                self.runs[-1][1], a
            ):
                self.runs[-1][1] = max(self.runs[-1][1], b)
            else:
                self.runs.append([a, b])
                self.run_arrivals.append(t)

    def on_clear(self, t: float) -> None:
        """Discard all audio queued for playout after ``t``."""
        discarded = max(0.0, self.playout_end - t)
        if discarded > 0:
            kept = []
            for c in self.chunks:
                if c.start >= t:
                    continue
                if c.end > t:
                    c.pcm = c.pcm[: int(round((t - c.start) * self.rate))]
                kept.append(c)
            self.chunks = kept
            while self.runs and self.runs[-1][0] >= t:
                self.runs.pop()
                self.run_arrivals.pop()
            if self.runs:
                self.runs[-1][1] = min(self.runs[-1][1], t)
            self.playout_end = t
        self.clears.append(ClearEvent(at=t, discarded_secs=round(discarded, 4)))

    def _cleared_between(self, a: float, b: float) -> bool:
        return any(a <= c.at <= b for c in self.clears)

    @property
    def last_voice_end(self) -> float | None:
        """Playout time at which the last voiced bot audio ends (may lie in the future)."""
        return self.runs[-1][1] if self.runs else None

    def speaking_at(self, t: float) -> bool:
        """True if voiced bot audio is playing, or queued to play, at time ``t``."""
        end = self.last_voice_end
        return bool(end is not None and end > t)

    def quiet_for(self, now: float, secs: float) -> bool:
        """True if no voiced bot audio has played during the last ``secs`` seconds."""
        end = self.last_voice_end
        return bool(end is None or end <= now - secs)

    def utterances(self) -> list[Span]:
        """Group voice runs into utterances (split by long silence or by a clear)."""
        spans: list[Span] = []
        for (a, b), arrival in zip(self.runs, self.run_arrivals, strict=True):
            if spans and a - spans[-1].end < self.utterance_gap_secs and not self._cleared_between(
                spans[-1].end, a
            ):
                spans[-1].end = max(spans[-1].end, b)
            else:
                spans.append(Span(start=a, end=b, first_arrival=arrival))
        return spans

    def first_voice_since(self, t: float) -> float | None:
        """Start of the first voice run beginning at or after ``t``."""
        for a, _ in self.runs:
            if a >= t:
                return a
        return None

    def gaps_within(self, start: float, end: float) -> list[tuple[float, float]]:
        """Underrun gaps ``(at, duration)`` that fall inside ``[start, end]``."""
        return [(a, b - a) for a, b in self.dry_gaps if a >= start - 1e-6 and b <= end + 1e-6]

    def timeline(self, duration: float | None = None) -> np.ndarray:
        """Render the played-out bot audio as one int16 array starting at t=0 (gaps are zeros)."""
        end = max([c.end for c in self.chunks] + [duration or 0.0])
        out = np.zeros(int(np.ceil(end * self.rate)) + 1, dtype=np.int16)
        for c in self.chunks:
            i = max(0, int(round(c.start * self.rate)))
            seg = c.pcm[: len(out) - i]
            out[i : i + len(seg)] = seg
        return out
