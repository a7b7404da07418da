"""Per-stream state of the text-exact STT mode: which registered words each final sends.

A live stream's segmenter cuts wherever the client asks (Deepgram ``Finalize`` after a short
silence), often inside a registered speech run. Each final then sends the registered words whose
estimated span lies mostly in its audio, and the stream remembers where the previous final of the
same utterance ended (a *cursor*: registration, time offset, last word sent), so that consecutive
finals never send a word twice nor drop one between them. A segment too short (or too alike other
registrations) to be matched on its own is matched together with the utterance's earlier audio,
taken from the stream's last seconds (:meth:`ExactStream.hear`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulators.doubles.exact_reg import Registration, Word

GAP_S = 2.0  # silence between two finals' audio that starts a new utterance
ADJACENT_S = 0.05  # a segment starting this close to the previous one's end: a mid-speech cut
KEEP_S = 12.0  # stream audio kept for matching a short segment with the utterance's earlier audio
SAME_S = 0.1  # two matches continue one utterance when their time offsets are this close
TRIES = 4  # joint matches tried with the unmatched segments before one that matches nothing

Span = tuple[float, float]  # a segment: stream times of its first sample and of its end


@dataclass(frozen=True)
class Located:
    """Where received audio lies in the registered audio.

    Attributes:
        outcome: ``matched``, ``unmatched`` or ``ambiguous``.
        reg: The registration (None unless matched).
        shift: Registration time = received time + ``shift``, in seconds.
        exact: Whether the samples were found to be the registered ones.
    """

    outcome: str
    reg: Registration | None = None
    shift: float = 0.0
    exact: bool = False

    @property
    def matched(self) -> bool:
        """Whether the audio was found in one registration, unambiguously."""
        return self.outcome == "matched" and self.reg is not None


UNMATCHED = Located("unmatched")
Locate = Callable[[np.ndarray, int], Located]
"""Finds a whole segment in the registered audio."""


@dataclass(frozen=True)
class _Cursor:
    reg: Registration
    offset: float  # registration time = stream time + offset
    last: int  # index in reg.words of the last word sent (-1: none yet)


class ExactStream:
    """What one live stream's finals have sent of the utterance being spoken.

    Finals of one stream must be decoded one at a time, in stream order.
    """

    def __init__(self) -> None:
        self._ring = np.zeros(0, dtype=np.int16)  # the last KEEP_S of the stream, circular
        self._heard = 0  # samples of the stream heard (the ring's write position)
        self._rate = 0
        self._spans: list[Span] = []  # the current utterance's segments
        self._segments: dict[float, np.ndarray] = {}  # their samples, by start
        self._start = 0.0  # stream time where the current utterance's audio begins
        self._end = -math.inf  # stream time where the last final's audio ended
        self._matched_end = -math.inf  # ... and where the last matched one's ended
        self._cursor: _Cursor | None = None

    def reset(self, start: float = 0.0) -> None:
        """Forget the utterance: the next final starts a new one at ``start``."""
        self._spans, self._segments = [], {}
        self._start = start
        self._matched_end = -math.inf
        self._cursor = None

    def hear(self, pcm: np.ndarray, rate: int, at: int) -> None:
        """Keep the stream's latest audio (lets a joint match use what the segmenter dropped).

        Args:
            pcm: Samples received.
            rate: Their sample rate.
            at: Stream position (in samples) of the first one.
        """
        size = int(KEEP_S * rate)
        if len(self._ring) != size:
            self._ring, self._heard = np.zeros(size, dtype=np.int16), 0
        if at > self._heard:  # audio not heard (another stt_mode meanwhile): silence
            self._write(np.zeros(min(at - self._heard, size), dtype=np.int16), at - self._heard)
        self._write(np.asarray(pcm, dtype=np.int16), len(pcm))

    def _write(self, pcm: np.ndarray, advance: int) -> None:
        size = len(self._ring)
        pcm = pcm[-size:]
        i = (self._heard + advance - len(pcm)) % size
        head = min(len(pcm), size - i)
        self._ring[i : i + head] = pcm[:head]
        self._ring[: len(pcm) - head] = pcm[head:]
        self._heard += advance

    def final(
        self, pcm: np.ndarray, rate: int, start: float, locate: Locate, endpoint: bool = False
    ) -> tuple[Located, list[Word], float]:
        """Choose the words of one final.

        Args:
            pcm: The segment's samples.
            rate: Their sample rate.
            start: Stream time of the segment's first sample, in seconds.
            locate: Finds received audio in the registered audio (a whole-segment match).
            endpoint: The segment ends at the double's own endpoint (not at the client's
                request): the words of a speech run whose loud audio goes on after it wait
                for the next final. Runs are split by 250 ms of silence, so an energy
                endpoint inside one is a long quiet stretch of speech (espeak's "next |
                Tuesday"), which a real service hears as speech.

        Returns:
            ``(located, words, shift)``: the match used (or why there is none), the words to
            send, and the shift that turns segment time into registration time.
        """
        end = start + len(pcm) / rate
        adjacent = abs(start - self._end) <= ADJACENT_S
        if rate != self._rate or start - self._end > GAP_S or start < self._end - 0.5:
            self.reset(start)
            self._rate = rate
        self._end = end
        alone = locate(pcm, rate)
        mine = (alone, alone.shift - start) if alone.matched else None
        # The segment alone continues the utterance, or else the utterance so far with it does
        # (the segment is too short, or its audio is also elsewhere)?
        chosen = mine if mine and self._continues(*mine) else None
        tried = -1.0
        if chosen is None and self._spans and self._cursor is not None:
            if adjacent or not self._complete():
                tried = self._spans[0][0]
                joint = self._joint(tried, pcm, start, rate, locate)
                chosen = joint if joint[0].matched and self._continues(*joint, True) else None
        if chosen is None and mine and self._continues(*mine, True):
            chosen = mine
        pending = [s for s in self._spans if s[0] >= self._matched_end - 1e-6]
        doubt = False
        if chosen is None and (mine is None or self._adjacent(pending, start)):
            # Unmatched segments just before it and this one may be one utterance (more audio
            # than the segment: a surer match); the first of them may be the previous one's tail.
            for first, _ in pending[:TRIES]:
                if first == tried:
                    continue
                found, offset = self._joint(first, pcm, start, rate, locate)
                if found.matched:
                    if not self._continues(found, offset, True):
                        self._begin(start, first)
                    chosen = found, offset
                if found.outcome != "unmatched":
                    # Matched, or fits several registrations: wait for more audio rather than
                    # trust a shorter stretch.
                    doubt = not found.matched
                    break
        if chosen is None and mine and not doubt:  # another utterance begins (at the latest) here
            self._begin(start)
            chosen = mine
        self._keep(pcm, start, end)
        if chosen is None:
            return alone, [], 0.0
        self._matched_end = end
        located, offset = chosen
        assert located.reg is not None
        cursor = self._cursor if self._continues(located, offset, True) else None
        after = cursor.last if cursor is not None else -1
        lo, hi = self._start + offset, end + offset
        picked = [i for i, w in enumerate(located.reg.words) if i > after and w.inside(lo, hi)]
        if endpoint:  # a run the segmenter will hear going on: its words go with the rest
            ends = located.reg.loud_ends
            picked = [i for i in picked if ends[located.reg.words[i].run] <= hi]
        self._cursor = _Cursor(located.reg, offset, picked[-1] if picked else after)
        return located, [located.reg.words[i] for i in picked], offset + start

    def _continues(self, located: Located, offset: float, unsent: bool = False) -> bool:
        """Whether a match continues the utterance.

        It does when found at the utterance's time offset in its registration, or in another
        one that begins with the words sent so far (registrations sharing a prefix: "Thanks,
        that's all." and "Thanks, that's all, goodbye."): the first segments may have matched
        either, and the new audio tells which. With ``unsent``, also in any other one when no
        word has been sent yet (the first segments matched, but held no whole word).
        """
        c = self._cursor
        if c is None or located.reg is None or abs(offset - c.offset) > SAME_S:
            return False
        if located.reg is c.reg:
            return True
        sent = [w.word for w in c.reg.words[: c.last + 1]]
        if not sent:
            return unsent
        return [w.word for w in located.reg.words[: c.last + 1]] == sent

    def _complete(self) -> bool:
        """Whether the utterance's last registered word has been sent."""
        c = self._cursor
        return c is not None and c.last == len(c.reg.words) - 1

    @staticmethod
    def _adjacent(spans: list[Span], start: float) -> bool:
        """Whether the last of ``spans`` ends where a segment starting at ``start`` begins."""
        return bool(spans) and abs(spans[-1][1] - start) <= ADJACENT_S

    def _begin(self, start: float, first: float = -math.inf) -> None:
        """Start a new utterance with the unmatched segments since the last match, if any.

        Args:
            start: Stream time of the segment being decoded.
            first: Keep only the unmatched segments from this stream time on.
        """
        lo = max(first, self._matched_end - 1e-6)
        self._spans = [s for s in self._spans if s[0] >= lo]
        self._segments = {k: v for k, v in self._segments.items() if k >= lo}
        self._start = self._spans[0][0] if self._spans else start
        self._cursor = None

    def _keep(self, pcm: np.ndarray, start: float, end: float) -> None:
        """Remember a segment (its samples too, in case the ring lacks them), ≤ KEEP_S back."""
        self._spans.append((start, end))
        self._segments[start] = pcm
        while self._spans and self._spans[0][0] < end - KEEP_S:
            self._segments.pop(self._spans.pop(0)[0], None)

    def _joint(
        self, first: float, pcm: np.ndarray, start: float, rate: int, locate: Locate
    ) -> tuple[Located, float]:
        """Match the stream from ``first`` to the end of this segment as one stretch.

        The audio comes from the ring (what the stream carried, pauses included), or else
        from the kept segments, with silence between them.

        Returns:
            ``(located, offset)``: the match, and registration time - stream time.
        """
        a, b = round(first * rate), round(start * rate) + len(pcm)
        # (The ring keeps 1 s more than it lends: the stream goes on while this decodes.)
        if b > a and self._heard >= b and self._heard - len(self._ring) + rate <= a:
            idx = np.arange(a, b) % len(self._ring)
            audio = self._ring[idx]
        else:
            audio = np.zeros(b - a, dtype=np.int16)
            for s, p in self._segments.items():
                i = round(s * rate) - a
                if 0 <= i < b - a:
                    audio[i : i + len(p)] = p[: b - a - i]
            audio[b - a - len(pcm) :] = pcm
        found = locate(audio, rate)
        return found, found.shift - first
