"""Text-exact recognition for the STT doubles: registered audio in, registered text out.

The test or bench registers what its callers will say: the PCM audio and its exact text, one
text (``chunk``) per speech run (see :mod:`simulators.doubles.exact_reg`). A decode locates the
received audio inside the registered audio (see :mod:`simulators.doubles.exact_match`) and answers
with the registered words it holds; a live stream's finals go through its
:class:`~simulators.doubles.exact_stream.ExactStream`, so that finals cut inside a run split
its words.
No speech recognition runs: the text is exact, and the cost is a few FFTs per decode.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from loguru import logger

from simulators.doubles.asr import Hypothesis
from simulators.doubles.exact_match import (
    FRAME_S,
    PAD,
    EnvelopeIndex,
    FeatureCache,
    query,
    same_samples,
    verify,
)
from simulators.doubles.exact_reg import Registration, Utterance, Word, prepare
from simulators.doubles.exact_stream import UNMATCHED, ExactStream, Located

__all__ = ["ExactRecognizer", "ExactStream", "Registration", "Utterance", "prepare"]

ACCEPT = 0.965  # band correlation a match needs (same audio ≥ 0.98; other audio mostly < 0.95)
MARGIN = 0.015  # contenders this close to the best must agree on the words, or none are sent
MIN_VOICED = 20  # 10 ms frames of speech needed before anything is matched
CONFIDENCE = 0.95
EMPTY = Hypothesis("", (), 0.0)


@dataclass(frozen=True)
class _Catalog:
    regs: tuple[Registration, ...]
    index: EnvelopeIndex


@dataclass(frozen=True)
class _Candidate:
    reg: Registration
    score: float
    shift: float  # registration time = received time + shift
    exact: bool


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the common prefix of two word lists."""
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


class ExactRecognizer:
    """Answers with registered text for registered audio; same interface as ``Recognizer``.

    Args:
        workers: Threads decoding off the event loop.
    """

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exact")
        self._catalog = _Catalog((), EnvelopeIndex([]))
        self._cache = FeatureCache()
        self._lock = threading.Lock()  # counters
        self._register_lock = threading.Lock()  # one registration at a time
        self._stats: dict[str, float] = {}
        self._matches: dict[int, int] = {}
        self._reset_stats()

    def _reset_stats(self) -> None:
        keys = ("decodes", "matched", "exact_samples", "unmatched", "ambiguous", "cpu_ms_total")
        self._stats = dict.fromkeys(keys, 0) | {"cpu_ms_max": 0.0}
        self._matches = {}

    def register(
        self, utterances: Sequence[Utterance], append: bool = False
    ) -> tuple[int, list[dict[str, Any]]]:
        """Register utterances, replacing (or extending) the registered set.

        Args:
            utterances: ``(pcm, rate, chunks)`` each; ``chunks`` holds one text per speech run
                (runs are separated by silences of 250 ms or more).
            append: Keep the utterances registered before.

        Returns:
            ``(registered, rejected)``: how many were accepted, and ``{"index", "reason"}`` for
            each one refused (``index`` into ``utterances``).
        """
        with self._register_lock:  # decodes go on meanwhile, with the previous catalog
            regs = list(self._catalog.regs) if append else []
            rejected: list[dict[str, Any]] = []
            for i, (pcm, rate, chunks) in enumerate(utterances):
                try:
                    regs.append(prepare(len(regs), pcm, rate, chunks))
                except (ValueError, TypeError) as exc:
                    rejected.append({"index": i, "reason": str(exc)})
            added = len(regs) - (len(self._catalog.regs) if append else 0)
            catalog = _Catalog(tuple(regs), EnvelopeIndex([r.envelope for r in regs]))
            with self._lock:
                self._catalog = catalog
                if not append:
                    self._matches = {}
        if rejected:
            logger.warning(f"exact stt: {len(rejected)} utterance(s) rejected: {rejected}")
        logger.info(f"exact stt: {added} utterance(s) registered, {len(regs)} in all")
        return added, rejected

    def clear(self) -> None:
        """Forget every registered utterance and reset the counters."""
        with self._register_lock, self._lock:
            self._catalog = _Catalog((), EnvelopeIndex([]))
            self._reset_stats()

    def utterances(self) -> list[dict[str, Any]]:
        """Registered utterances (texts, rate, duration, runs, final matches; no audio)."""
        matches = dict(self._matches)
        return [r.summary() | {"matches": matches.get(r.index, 0)} for r in self._catalog.regs]

    def stats(self) -> dict[str, Any]:
        """Decode counters and CPU time per decode (ms)."""
        s = dict(self._stats)
        s["cpu_ms_mean"] = round(s["cpu_ms_total"] / s["decodes"], 3) if s["decodes"] else 0.0
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}

    async def decode(
        self,
        pcm: np.ndarray,
        rate: int,
        final: bool = True,
        stream: ExactStream | None = None,
        start: float = 0.0,
        endpoint: bool = False,
    ) -> Hypothesis:
        """Find ``pcm`` in the registered audio and return the registered words it holds.

        Args:
            pcm: Mono int16 samples, as received.
            rate: Their sample rate.
            final: A whole segment (send the words it holds) rather than partial audio for an
                interim (send the words that already ended).
            stream: For a live stream's final: the stream's state, so that consecutive finals
                of one utterance neither repeat nor drop a word. Finals of one stream must be
                decoded one at a time, in order.
            start: Stream time of the first sample (with ``stream``), in seconds.
            endpoint: With ``stream``: the segment ends at the double's own endpoint (see
                :meth:`ExactStream.final`).

        Returns:
            The hypothesis; empty when the audio matches no registration clearly.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, self.decode_sync, pcm, rate, final, stream, start, endpoint
        )

    def decode_sync(
        self,
        pcm: np.ndarray,
        rate: int,
        final: bool = True,
        stream: ExactStream | None = None,
        start: float = 0.0,
        endpoint: bool = False,
    ) -> Hypothesis:
        """Blocking :meth:`decode` (counts CPU time per decode)."""
        started = time.thread_time()
        pcm = np.asarray(pcm, dtype=np.int16)
        if final and stream is not None:
            found, words, shift = stream.final(pcm, rate, start, self._whole, endpoint)
        else:
            found, words = self._locate(pcm, rate, final)
            shift = found.shift
        hyp = _hypothesis(words, shift, len(pcm) / rate)
        self._count(found, hyp, final, started)
        return hyp

    async def interim(self, pcm: np.ndarray, rate: int) -> tuple[Hypothesis, float | None]:
        """Decode speech still going on, and tell where its speech run will end.

        Args:
            pcm: The samples of the segment so far.
            rate: Their sample rate.

        Returns:
            ``(hypothesis, run_end)``: the words that already ended, and the end of the
            registered speech run being spoken (its last frame loud enough for the segmenter),
            in seconds from the first sample; None when the audio was not located.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._interim_sync, pcm, rate)

    def _interim_sync(self, pcm: np.ndarray, rate: int) -> tuple[Hypothesis, float | None]:
        started = time.thread_time()
        pcm = np.asarray(pcm, dtype=np.int16)
        found, words = self._locate(pcm, rate, False)
        duration = len(pcm) / rate
        hyp = _hypothesis(words, found.shift, duration)
        self._count(found, hyp, False, started)
        return hyp, _run_end(found, duration)

    def _count(self, found: Located, hyp: Hypothesis, final: bool, started: float) -> None:
        """Add one decode to the counters (``started``: its ``time.thread_time()``)."""
        cpu_ms = (time.thread_time() - started) * 1000
        with self._lock:
            s = self._stats
            s["decodes"] += 1
            s[found.outcome] += 1
            s["exact_samples"] += int(found.exact)
            s["cpu_ms_total"] += cpu_ms
            s["cpu_ms_max"] = max(s["cpu_ms_max"], cpu_ms)
            if final and found.reg is not None and hyp.text:
                self._matches[found.reg.index] = self._matches.get(found.reg.index, 0) + 1

    def _whole(self, pcm: np.ndarray, rate: int) -> Located:
        """Where a whole segment lies (the words are chosen by the stream)."""
        return self._locate(pcm, rate, True)[0]

    def _locate(self, pcm: np.ndarray, rate: int, final: bool) -> tuple[Located, list[Word]]:
        """Find the audio in one registration; the words its contenders agree on."""
        catalog = self._catalog
        q = query(pcm, rate, self._cache)
        if q.voiced < MIN_VOICED or not catalog.regs:
            return UNMATCHED, []
        cands: list[_Candidate] = []
        for k, offset, _ in catalog.index.shortlist(q.env):
            reg = catalog.regs[k]
            score, start = verify(q, reg.bands5, offset)
            shift = start * FRAME_S / 2 - (q.first + PAD) * FRAME_S
            cands.append(_Candidate(reg, score, shift, False))
        top = max((c.score for c in cands), default=0.0)
        for i, c in enumerate(cands):
            # Sample-exact check (same rate, linear16 or μ-law): certainty, where it applies.
            if c.reg.rate == rate and c.score >= max(ACCEPT, top) - 0.05:
                lag = same_samples(pcm, c.reg.pcm, round(c.shift * rate), rate)
                if lag is not None:
                    cands[i] = _Candidate(c.reg, 1.0, lag / rate, True)
        best = max(cands, key=lambda c: c.score, default=None)
        if best is None or best.score < ACCEPT:
            seen = f"{best.score:.3f} (#{best.reg.index})" if best else "none"
            logger.debug(f"exact stt: no match for {len(pcm) / rate:.2f}s, best {seen}")
            return UNMATCHED, []
        duration = len(pcm) / rate
        floor = 1.0 if best.exact else best.score - MARGIN
        contenders = [c for c in cands if c.score >= floor and (c.exact or not best.exact)]
        words = _select(best, duration, final)
        mine = [w.token for w in words]
        picks = [[w.token for w in _select(c, duration, final)] for c in contenders]
        # Contenders are the same audio (one voice, a shared prefix): a final needs them all to
        # give the same words, an interim sends the words they agree on.
        agreed = min((_common(mine, p) for p in picks), default=len(mine))
        if (final and any(p != mine for p in picks)) or (mine and not agreed):
            logger.debug(
                f"exact stt: ambiguous {duration:.2f}s: "
                + ", ".join(f"#{c.reg.index} {c.score:.3f}" for c in contenders)
            )
            return Located("ambiguous"), []
        return Located("matched", best.reg, best.shift, best.exact), words[:agreed]


def _select(c: _Candidate, duration: float, final: bool) -> list[Word]:
    """The candidate's words heard in the received span.

    A final holds the words whose estimated span lies mostly inside the audio; an interim the
    words that already ended.
    """
    lo, hi = c.shift, c.shift + duration
    if final:
        return [w for w in c.reg.words if w.inside(lo, hi)]
    return [w for w in c.reg.words if lo < w.end <= hi]


def _run_end(found: Located, duration: float) -> float | None:
    """End of the loud audio of the speech run the received audio ends in (received time)."""
    reg = found.reg
    if not found.matched or reg is None:
        return None
    now = found.shift + duration  # registration time of the last sample received
    for run, loud_end in zip(reg.runs, reg.loud_ends, strict=True):
        if (run[-1] + 1) * FRAME_S >= now - FRAME_S:
            return round(loud_end - found.shift, 3)
    return None


def _hypothesis(words: Sequence[Word], shift: float, duration: float) -> Hypothesis:
    """The registered words as a result; timings relative to the received audio."""
    if not words:
        return EMPTY

    def rel(t: float) -> float:
        return round(min(max(t - shift, 0.0), duration), 3)

    return Hypothesis(
        " ".join(w.token for w in words),
        tuple((w.word, rel(w.start), rel(w.end)) for w in words),
        CONFIDENCE,
        punctuated=True,
        shown=tuple(w.token for w in words),
    )
