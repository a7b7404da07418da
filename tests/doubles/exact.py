"""Text-exact recognition for the STT doubles: registered audio in, registered text out.

The test or bench registers what its callers will say: the PCM audio and its exact text, one
text (``chunk``) per speech run. A decode locates the received audio inside the registered audio
(see :mod:`tests.doubles.exact_match`) and answers with the words of the registered chunks it
covers. No speech recognition runs: the text is exact, and the cost is a few FFTs per decode.
"""

from __future__ import annotations

import asyncio
import string
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from loguru import logger

from tests.doubles.asr import Hypothesis
from tests.doubles.exact_match import (
    FRAME_S,
    PAD,
    EnvelopeIndex,
    FeatureCache,
    features,
    find_runs,
    padded,
    query,
    same_samples,
    verify,
    voiced_frames,
)

ACCEPT = 0.965  # band correlation a match needs (same audio ≥ 0.98; other audio mostly < 0.95)
MARGIN = 0.015  # contenders this close to the best must agree on the words, or none are sent
MIN_VOICED = 20  # 10 ms frames of speech needed before anything is matched
RUN_LEVEL = 100.0  # mean |amplitude| of a 10 ms frame that belongs to a run (fricatives do)
LOUD_LEVEL = 400.0  # the streaming segmenter's voicing level: what a run's coverage counts
RUN_COVER = 0.6  # share of a run's loud frames a final must hold to send that run's words
CONFIDENCE = 0.95
MAX_SECONDS = 30.0
EMPTY = Hypothesis("", (), 0.0)

Utterance = tuple[np.ndarray, int, Sequence[str]]
"""A registration: int16 mono PCM, its sample rate, and one text per speech run."""


@dataclass(frozen=True)
class Word:
    """One registered word.

    Attributes:
        token: The word as registered (``"Saturday?"``).
        word: Lowercase, without surrounding punctuation (``"saturday"``).
        start: Estimated start in the registered audio, in seconds.
        end: Estimated end in the registered audio, in seconds.
        run: Index of its speech run (and chunk).
    """

    token: str
    word: str
    start: float
    end: float
    run: int


@dataclass(frozen=True)
class Registration:
    """A registered utterance with everything matching needs, precomputed.

    Attributes:
        index: Position among the registered utterances.
        rate: Sample rate of ``pcm``.
        chunks: One text per speech run, whitespace normalised.
        duration: Length of ``pcm`` in seconds.
        runs: Voiced 10 ms frame indices of each run.
        loud: The frames of each run that count for its coverage.
        words: Every word of every chunk, with estimated timings.
        pcm: The registered samples (for the sample-exact check).
        envelope: Padded envelope, 10 ms frames.
        bands5: Padded band features, 5 ms frames.
    """

    index: int
    rate: int
    chunks: tuple[str, ...]
    duration: float
    runs: tuple[np.ndarray, ...]
    loud: tuple[np.ndarray, ...]
    words: tuple[Word, ...]
    pcm: np.ndarray
    envelope: np.ndarray
    bands5: np.ndarray

    def summary(self) -> dict[str, Any]:
        """What ``GET /_doubles/stt/utterances`` shows (no audio)."""
        return {
            "index": self.index,
            "chunks": list(self.chunks),
            "rate": self.rate,
            "duration": round(self.duration, 3),
            "runs": [
                [round(r[0] * FRAME_S, 3), round((r[-1] + 1) * FRAME_S, 3)] for r in self.runs
            ],
        }


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


def _plain(token: str) -> str:
    """A written word as Deepgram's ``word``: lowercase, no surrounding punctuation."""
    return token.lower().strip(string.punctuation + "“”‘’…—–") or token.lower()


def _words(chunks: Sequence[str], runs: Sequence[np.ndarray]) -> tuple[Word, ...]:
    """Spread each chunk's words over its run's voiced span in proportion to their length."""
    out: list[Word] = []
    for r, (chunk, run) in enumerate(zip(chunks, runs, strict=True)):
        tokens = chunk.split()
        t0, t1 = run[0] * FRAME_S, (run[-1] + 1) * FRAME_S
        total = sum(len(t) + 1 for t in tokens)
        cursor = t0
        for t in tokens:
            span = (t1 - t0) * (len(t) + 1) / total
            out.append(Word(t, _plain(t), cursor, cursor + span * 0.9, r))
            cursor += span
    return tuple(out)


def prepare(index: int, pcm: np.ndarray, rate: int, chunks: Sequence[str]) -> Registration:
    """Validate one utterance and precompute its runs, word timings and features.

    Args:
        index: Its position among the registered utterances.
        pcm: Mono int16 samples.
        rate: Their sample rate.
        chunks: One text per speech run.

    Returns:
        The registration.

    Raises:
        ValueError: With the reason, when the utterance can't be registered.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer):
        raise ValueError(f"rate must be an integer: {rate!r}")
    rate = int(rate)
    if not 8000 <= rate <= 48000 or rate % 200:
        raise ValueError(f"rate must be from 8000 to 48000 and divisible by 200: {rate}")
    texts = [" ".join(str(c).split()) for c in chunks] if not isinstance(chunks, str) else []
    if not texts or not all(texts):
        raise ValueError("chunks must be a non-empty list of non-empty texts")
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or pcm.dtype != np.int16:
        raise ValueError("pcm must be mono int16 samples")
    duration = len(pcm) / rate
    if not 0.1 <= duration <= MAX_SECONDS:
        raise ValueError(f"audio must last 0.1-{MAX_SECONDS:.0f} s, not {duration:.2f} s")
    runs = find_runs(voiced_frames(pcm, rate, RUN_LEVEL))
    if len(runs) != len(texts):
        spans = ", ".join(f"{r[0] * FRAME_S:.2f}-{(r[-1] + 1) * FRAME_S:.2f} s" for r in runs)
        raise ValueError(
            f"{len(texts)} chunk(s) but {len(runs)} speech run(s) in the audio"
            f" ({spans or 'no speech'}); runs are split by silences of 250 ms or more"
        )
    # Coverage counts what the streaming segmenter hears as speech, so that a run it splits
    # (at a long quiet fricative) goes out whole with its louder part.
    loud_frames = np.flatnonzero(voiced_frames(pcm, rate, LOUD_LEVEL))
    loud = [np.intersect1d(loud_frames, np.arange(r[0], r[-1] + 1)) for r in runs]
    loud = [lf if len(lf) else r for lf, r in zip(loud, runs, strict=True)]
    env5, bands5 = features(padded(pcm, rate), rate, hop_ms=5)
    return Registration(
        index, rate, tuple(texts), duration, tuple(runs), tuple(loud), _words(texts, runs),
        pcm.copy(), env5[::2].copy(), bands5,
    )  # fmt: skip


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

    async def decode(self, pcm: np.ndarray, rate: int, final: bool = True) -> Hypothesis:
        """Find ``pcm`` in the registered audio and return the registered words it holds.

        Args:
            pcm: Mono int16 samples, as received.
            rate: Their sample rate.
            final: A whole segment (send every run it covers) rather than partial audio for an
                interim (send the words that already ended).

        Returns:
            The hypothesis; empty when the audio matches no registration clearly.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.decode_sync, pcm, rate, final)

    def decode_sync(self, pcm: np.ndarray, rate: int, final: bool = True) -> Hypothesis:
        """Blocking :meth:`decode` (counts CPU time per decode)."""
        started = time.thread_time()
        outcome, hyp, reg, exact = self._match(np.asarray(pcm, dtype=np.int16), rate, final)
        cpu_ms = (time.thread_time() - started) * 1000
        with self._lock:
            s = self._stats
            s["decodes"] += 1
            s[outcome] += 1
            s["exact_samples"] += int(exact)
            s["cpu_ms_total"] += cpu_ms
            s["cpu_ms_max"] = max(s["cpu_ms_max"], cpu_ms)
            if final and reg is not None and hyp.text:
                self._matches[reg] = self._matches.get(reg, 0) + 1
        return hyp

    def _match(
        self, pcm: np.ndarray, rate: int, final: bool
    ) -> tuple[str, Hypothesis, int | None, bool]:
        """Returns ``(outcome, hypothesis, registration, sample-exact)``."""
        catalog = self._catalog
        q = query(pcm, rate, self._cache)
        if q.voiced < MIN_VOICED or not catalog.regs:
            return "unmatched", EMPTY, None, False
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
            return "unmatched", EMPTY, None, False
        duration = len(pcm) / rate
        floor = 1.0 if best.exact else best.score - MARGIN
        contenders = [c for c in cands if c.score >= floor and (c.exact or not best.exact)]
        words = self._select(best, duration, final)
        mine = [w.token for w in words]
        picks = [[w.token for w in self._select(c, duration, final)] for c in contenders]
        # Contenders are the same audio (one voice, a shared prefix): a final needs them all to
        # give the same words, an interim sends the words they agree on.
        agreed = min((_common(mine, p) for p in picks), default=len(mine))
        if (final and any(p != mine for p in picks)) or (mine and not agreed):
            logger.debug(
                f"exact stt: ambiguous {duration:.2f}s: "
                + ", ".join(f"#{c.reg.index} {c.score:.3f}" for c in contenders)
            )
            return "ambiguous", EMPTY, None, False
        words = words[:agreed]
        if not words:
            return "matched", EMPTY, best.reg.index, best.exact
        if final:
            text = " ".join(best.reg.chunks[r] for r in dict.fromkeys(w.run for w in words))
        else:
            text = " ".join(w.token for w in words)

        def rel(t: float) -> float:
            return round(min(max(t - best.shift, 0.0), duration), 3)

        hyp = Hypothesis(
            text,
            tuple((w.word, rel(w.start), rel(w.end)) for w in words),
            CONFIDENCE,
            punctuated=True,
            shown=tuple(w.token for w in words),
        )
        return "matched", hyp, best.reg.index, best.exact

    @staticmethod
    def _select(c: _Candidate, duration: float, final: bool) -> list[Word]:
        """The candidate's words heard in the received span (whole runs for a final)."""
        lo, hi = c.shift, c.shift + duration
        if not final:
            return [w for w in c.reg.words if lo < w.end <= hi]
        covered = set()
        for r, frames in enumerate(c.reg.loud):
            t = (frames + 0.5) * FRAME_S
            if ((t >= lo) & (t < hi)).mean() >= RUN_COVER:
                covered.add(r)
        return [w for w in c.reg.words if w.run in covered]
