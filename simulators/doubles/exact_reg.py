"""Registered utterances of the text-exact STT mode: their speech runs, words and features.

A registration is int16 PCM with one text (``chunk``) per speech run. Each chunk's words get
estimated timings: spread over the run's voiced span in proportion to their length. These
timings decide which words an interim has heard and which words a final's audio holds.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators.doubles.exact_match import FRAME_S, features, find_runs, padded, voiced_frames

RUN_LEVEL = 100.0  # mean |amplitude| of a 10 ms frame that belongs to a run (fricatives do)
LOUD_LEVEL = 400.0  # the streaming segmenter's voicing level: what starts a segment
DIP_FRAMES = 6  # 10 ms frames under RUN_LEVEL inside a run that make a dip (a likely pause)
DIP_REACH = 0.25  # how far (share of the run) a pause after punctuation may be from its estimate
PAUSE_MARKS = ",;:.?!…—"  # a word ending so is likely followed by a pause
WORD_INSIDE = 0.5  # share of a word's estimated span a final's audio must hold to send it
MAX_SECONDS = 30.0

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

    def inside(self, lo: float, hi: float) -> bool:
        """Whether more than :data:`WORD_INSIDE` of the word's span lies in ``[lo, hi]``."""
        overlap = min(hi, self.end) - max(lo, self.start)
        return overlap > WORD_INSIDE * (self.end - self.start)


@dataclass(frozen=True)
class Registration:
    """A registered utterance with everything matching needs, precomputed.

    Attributes:
        index: Position among the registered utterances.
        rate: Sample rate of ``pcm``.
        chunks: One text per speech run, whitespace normalised.
        duration: Length of ``pcm`` in seconds.
        runs: Voiced 10 ms frame indices of each run.
        loud_ends: For each run, the end (seconds) of its last frame loud enough for the
            streaming segmenter to hear as speech.
        words: Every word of every chunk, in order, with estimated timings.
        pcm: The registered samples (for the sample-exact check).
        envelope: Padded envelope, 10 ms frames.
        bands5: Padded band features, 5 ms frames.
    """

    index: int
    rate: int
    chunks: tuple[str, ...]
    duration: float
    runs: tuple[np.ndarray, ...]
    loud_ends: tuple[float, ...]
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


def plain(token: str) -> str:
    """A written word as Deepgram's ``word``: lowercase, no surrounding punctuation."""
    return token.lower().strip(string.punctuation + "“”‘’…—–") or token.lower()


def _spread(tokens: Sequence[str], t0: float, t1: float) -> list[tuple[float, float]]:
    """Share ``[t0, t1]`` among words in proportion to ``len + 1``; each ends at 90% of it."""
    total = sum(len(t) + 1 for t in tokens)
    out, cursor = [], t0
    for t in tokens:
        span = (t1 - t0) * (len(t) + 1) / total
        out.append((cursor, cursor + span * 0.9))
        cursor += span
    return out


def _anchored(tokens: Sequence[str], run: np.ndarray) -> list[tuple[float, float]]:
    """Word spans over a run: proportional, with pauses after punctuation put in its dips.

    A dip is a stretch of at least :data:`DIP_FRAMES` quiet frames inside the run (a comma's
    pause). The boundaries after words ending in punctuation are aligned in order with the dips
    (each pair's distance, over the run's length, under :data:`DIP_REACH`; the alignment with
    the most pairs and then the least distance wins); each paired boundary moves into its dip,
    and the words between paired boundaries are spread over the speech between them.
    """
    t0, t1 = run[0] * FRAME_S, (run[-1] + 1) * FRAME_S
    gaps = np.flatnonzero(np.diff(run) > DIP_FRAMES)
    dips = [((run[i] + 1) * FRAME_S, run[i + 1] * FRAME_S) for i in gaps]
    marks = [k for k, t in enumerate(tokens[:-1]) if t[-1] in PAUSE_MARKS]
    if not dips or not marks:
        return _spread(tokens, t0, t1)
    est = _spread(tokens, t0, t1)
    dist = [
        [abs((est[k][1] + est[k + 1][0]) / 2 - (a + b) / 2) / (t1 - t0) for a, b in dips]
        for k in marks
    ]
    # best[i][j]: (pairs, -distance) aligning marks[i:] with dips[j:]; choice: 0 pair, 1/2 skip
    best = [[(0, 0.0)] * (len(dips) + 1) for _ in range(len(marks) + 1)]
    move = [[0] * (len(dips) + 1) for _ in range(len(marks) + 1)]
    for i in range(len(marks) - 1, -1, -1):
        for j in range(len(dips) - 1, -1, -1):
            options = [(best[i + 1][j], 1), (best[i][j + 1], 2)]
            if dist[i][j] < DIP_REACH:
                n, d = best[i + 1][j + 1]
                options.append(((n + 1, d - dist[i][j]), 0))
            best[i][j], move[i][j] = max(options, key=lambda o: o[0])
    anchors: list[tuple[int, tuple[float, float]]] = []
    i = j = 0
    while i < len(marks) and j < len(dips):
        if move[i][j] == 0:
            anchors.append((marks[i], dips[j]))
        i, j = i + (move[i][j] != 2), j + (move[i][j] != 1)
    out: list[tuple[float, float]] = []
    edges = [(-1, (t0, t0)), *anchors, (len(tokens) - 1, (t1, t1))]
    for (k, (_, a)), (m, (b, _)) in zip(edges, edges[1:], strict=False):
        out += _spread(tokens[k + 1 : m + 1], a, b)
    return out


def estimate_words(chunks: Sequence[str], runs: Sequence[np.ndarray]) -> tuple[Word, ...]:
    """Estimate each registered word's span in the audio.

    Each chunk's words share their run's voiced span in proportion to ``len + 1`` (the space
    after them included), each ending at 90% of its share; pauses after punctuation are put in
    the run's quiet dips (see :func:`_anchored`).
    """
    out: list[Word] = []
    for r, (chunk, run) in enumerate(zip(chunks, runs, strict=True)):
        tokens = chunk.split()
        for t, (start, end) in zip(tokens, _anchored(tokens, run), strict=True):
            out.append(Word(t, plain(t), start, end, r))
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
    loud = np.flatnonzero(voiced_frames(pcm, rate, LOUD_LEVEL))
    loud_ends = []
    for r in runs:
        inside = loud[(loud >= r[0]) & (loud <= r[-1])]
        loud_ends.append(float((inside[-1] if len(inside) else r[-1]) + 1) * FRAME_S)
    env5, bands5 = features(padded(pcm, rate), rate, hop_ms=5)
    return Registration(
        index, rate, tuple(texts), duration, tuple(runs), tuple(loud_ends),
        estimate_words(texts, runs), pcm.copy(), env5[::2].copy(), bands5,
    )  # fmt: skip
