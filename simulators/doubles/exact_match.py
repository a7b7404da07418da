"""Audio matching for the text-exact STT mode: locate received audio inside registered audio.

Everything is numpy, and every feature is defined in Hz and in 10 ms frames, so audio at 8 kHz
and at 16 kHz (or resampled between them, or μ-law coded) gives the same features:

- the *envelope*: log energy of 150-3400 Hz per 10 ms frame (20 ms Hann window), in dB over a
  fixed floor, so silence is 0;
- the *bands*: the same spectrum split into 12 log-spaced bands (a coarse spectrogram).

Matching is two-stage. A batched FFT cross-correlation of the received envelope against every
registered envelope (normalised, over every offset) shortlists a few registrations and offsets.
Each is then verified on the band features (5 ms steps around the offset, per-band mean
removed), which tells voices and words apart far better than the envelope alone.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FRAME_S = 0.01
PAD = 30  # silent frames added around every registration (received segments carry pre-roll)
EDGE = 15  # silent frames kept around the received speech
BAND_EDGES = np.geomspace(150.0, 3400.0, 13)
FLOOR_DB = 20 * np.log10(50.0)  # energy floor: a 50 (int16) RMS, far below speech
VOICED_DB = 15.0  # envelope level (over the floor) that counts as speech for trimming
SHORTLIST = 8
STEP = 2  # 10 ms frames per step of the coarse search (20 ms: half the FFT work)
COARSE_MIN = 0.8
COARSE_SPREAD = 0.12


@lru_cache(maxsize=16)
def _analysis(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The 20 ms Hann window at ``rate`` and its FFT-bin-to-band weights (normalised)."""
    win = rate // 50
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    lo, hi = BAND_EDGES[:-1], BAND_EDGES[1:]
    weights = ((freqs[:, None] >= lo) & (freqs[:, None] < hi)) / (win * win / 4.0)
    return np.hanning(win).astype(np.float32), weights.astype(np.float32)


def features(pcm: np.ndarray, rate: int, hop_ms: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Envelope and band features of int16 audio.

    Args:
        pcm: Mono int16 samples.
        rate: Their sample rate (at least 8000).
        hop_ms: Frame step (10, or 5 for registrations).

    Returns:
        ``(envelope, bands)``: shapes ``(n,)`` and ``(n, 12)``, in dB over the floor (≥ 0).
    """
    window, weights = _analysis(rate)
    x = np.asarray(pcm, dtype=np.float32)
    if len(x) < len(window):
        return np.zeros(0, dtype=np.float32), np.zeros((0, len(BAND_EDGES) - 1), dtype=np.float32)
    spectrum = np.fft.rfft(sliding_window_view(x, len(window))[:: rate * hop_ms // 1000] * window)
    bands = (spectrum.real**2 + spectrum.imag**2) @ weights
    floor = 10 ** (FLOOR_DB / 10)
    env = 10 * np.log10(np.maximum(bands.sum(axis=1), floor)) - FLOOR_DB
    band_db = 10 * np.log10(np.maximum(bands, floor / 10)) - (FLOOR_DB - 10)
    return env.astype(np.float32), band_db.astype(np.float32)


def voiced_frames(pcm: np.ndarray, rate: int, threshold: float = 400.0) -> np.ndarray:
    """Whether each 10 ms frame is voiced: mean absolute amplitude over ``threshold``.

    The same measure as the streaming doubles' segmenter (which uses 20 ms frames).
    """
    n = rate // 100
    count = len(pcm) // n
    if count == 0:
        return np.zeros(0, dtype=bool)
    frames = np.abs(np.asarray(pcm[: count * n], dtype=np.int32)).reshape(count, n)
    return frames.mean(axis=1) > threshold


def find_runs(voiced: np.ndarray, min_gap: int = 25, min_voiced: int = 3) -> list[np.ndarray]:
    """Group voiced 10 ms frames into speech runs separated by ≥ ``min_gap`` silent frames.

    Args:
        voiced: Per-frame voicing.
        min_gap: Silent frames that separate two runs (25 = 250 ms).
        min_voiced: Runs with fewer voiced frames are clicks, not speech, and are dropped.

    Returns:
        The voiced frame indices of each run, in order.
    """
    idx = np.flatnonzero(voiced)
    if len(idx) == 0:
        return []
    cuts = np.flatnonzero(np.diff(idx) > min_gap) + 1
    return [run for run in np.split(idx, cuts) if len(run) >= min_voiced]


def padded(pcm: np.ndarray, rate: int) -> np.ndarray:
    """``pcm`` with :data:`PAD` frames of silence on both sides."""
    pad = np.zeros(PAD * rate // 100, dtype=np.int16)
    return np.concatenate([pad, np.asarray(pcm, dtype=np.int16), pad])


@dataclass(frozen=True)
class Query:
    """The received audio's features, trimmed to its speech plus :data:`EDGE` frames.

    Attributes:
        env: Trimmed envelope.
        bands: Trimmed band features.
        first: Index of the first kept frame in the received audio.
        voiced: Number of frames over :data:`VOICED_DB`.
    """

    env: np.ndarray
    bands: np.ndarray
    first: int
    voiced: int


class FeatureCache:
    """Features of received audio, reused when a later decode extends the same audio.

    A live segment is decoded again and again as it grows (interims, then the final), so only
    the frames past the last decode are analysed. Entries are keyed by the segment's first
    300 ms and checked against a CRC of the whole prefix they were computed from.

    Args:
        size: Segments remembered.
    """

    HEAD_S = 0.3

    def __init__(self, size: int = 512) -> None:
        self._entries: OrderedDict[tuple[int, int], tuple[int, int, np.ndarray, np.ndarray]]
        self._entries = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def features(self, pcm: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
        """:func:`features` of ``pcm`` (10 ms frames), reusing a cached prefix."""
        head = int(rate * self.HEAD_S)
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        if len(pcm) < head:
            return features(pcm, rate)
        key = (rate, zlib.crc32(memoryview(pcm[:head])))
        with self._lock:
            entry = self._entries.get(key)
        env, bands = None, None
        if entry is not None and entry[0] <= len(pcm):
            done, crc, env0, bands0 = entry
            if zlib.crc32(memoryview(pcm[:done])) == crc:
                env1, bands1 = features(pcm[len(env0) * (rate // 100) :], rate)
                env, bands = np.concatenate([env0, env1]), np.concatenate([bands0, bands1])
        if env is None or bands is None:
            env, bands = features(pcm, rate)
        with self._lock:
            self._entries[key] = (len(pcm), zlib.crc32(memoryview(pcm)), env, bands)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return env, bands


def query(pcm: np.ndarray, rate: int, cache: FeatureCache | None = None) -> Query:
    """Compute (or extend cached) features of received audio, and trim them."""
    env, bands = cache.features(pcm, rate) if cache is not None else features(pcm, rate)
    loud = np.flatnonzero(env > VOICED_DB)
    if len(loud) == 0:
        return Query(env[:0], bands[:0], 0, 0)
    a, b = max(0, loud[0] - EDGE), min(len(env), loud[-1] + EDGE + 1)
    return Query(env[a:b], bands[a:b], int(a), len(loud))


def _coarse(env: np.ndarray) -> np.ndarray:
    """Average :data:`STEP` consecutive envelope frames."""
    n = len(env) // STEP
    return env[: n * STEP].reshape(n, STEP).mean(axis=1)


class EnvelopeIndex:
    """Every registered envelope, stacked and transformed for batched cross-correlation.

    Args:
        envelopes: Padded envelopes (10 ms frames), one per registration.
    """

    def __init__(self, envelopes: list[np.ndarray]) -> None:
        envelopes = [_coarse(e) for e in envelopes]
        self.count = len(envelopes)
        self.lengths = np.array([len(e) for e in envelopes], dtype=np.int64)
        self.width = int(self.lengths.max()) if envelopes else 0
        self.nfft = 1 << max(4, (max(self.width, 1) - 1).bit_length())
        mat = np.zeros((self.count, self.width), dtype=np.float64)
        for i, e in enumerate(envelopes):
            mat[i, : len(e)] = e
        self.spectra = np.fft.rfft(mat.astype(np.float32), self.nfft, axis=1)
        zeros = np.zeros((self.count, 1))
        self.sum1 = np.concatenate([zeros, np.cumsum(mat, axis=1)], axis=1).astype(np.float32)
        self.sum2 = np.concatenate([zeros, np.cumsum(mat * mat, axis=1)], axis=1).astype(np.float32)

    def shortlist(self, q: np.ndarray) -> list[tuple[int, int, float]]:
        """Best offset of ``q`` in each registration, for the most promising registrations.

        Args:
            q: A trimmed received envelope (10 ms frames).

        Returns:
            ``(registration, offset, ncc)`` for at most :data:`SHORTLIST` registrations, best
            first: those above :data:`COARSE_MIN` and within :data:`COARSE_SPREAD` of the best.
            Offsets are in 10 ms frames, accurate to a step.
        """
        q = _coarse(q)
        m = len(q)
        if self.count == 0 or m < 2 or m > self.width:
            return []
        qc = (q - q.mean()).astype(np.float32)
        qn = float(np.linalg.norm(qc))
        if qn == 0.0:
            return []
        spec_q = np.conj(np.fft.rfft(qc, self.nfft))
        corr = np.fft.irfft(self.spectra * spec_q, self.nfft, axis=1)[:, : self.width - m + 1]
        s1 = self.sum1[:, m:] - self.sum1[:, :-m]
        var = self.sum2[:, m:] - self.sum2[:, :-m] - s1 * s1 / m  # m × window variance
        # Windows past a registration's end, or silent (std < 0.5 dB), can't match.
        var[np.arange(self.width - m + 1)[None, :] > (self.lengths - m)[:, None]] = np.inf
        var[var < 0.25 * m] = np.inf
        ncc = corr / (qn * np.sqrt(var))
        best_off = ncc.argmax(axis=1)
        best = ncc[np.arange(self.count), best_off]
        top = float(best.max())
        keep = np.flatnonzero((best >= COARSE_MIN) & (best >= top - COARSE_SPREAD))
        keep = keep[np.argsort(-best[keep])][:SHORTLIST]
        return [(int(k), int(best_off[k]) * STEP, float(best[k])) for k in keep]


def verify(q: Query, bands5: np.ndarray, offset: int) -> tuple[float, int]:
    """Score ``q`` against a registration's 5 ms band features around a coarse offset.

    Args:
        q: The received features.
        bands5: The registration's padded band features at 5 ms steps.
        offset: Coarse offset (10 ms frames into the padded registration).

    Returns:
        ``(ncc, start)``: the best band correlation and its start in 5 ms steps.
    """
    m = len(q.bands)
    reach = 2 * STEP + 1
    starts = np.arange(2 * offset - reach, 2 * offset + reach + 1)
    starts = starts[(starts >= 0) & (starts + 2 * (m - 1) < len(bands5))]
    if len(starts) == 0:
        return -1.0, 0
    stride = max(1, m // 300)  # long segments: every other frame (or fewer) is plenty
    qb = q.bands[::stride]
    n = len(qb)
    windows = bands5[starts[:, None] + 2 * stride * np.arange(n)[None, :]]  # (s, n, bands)
    qb = qb - qb.mean(axis=0)  # per-band mean removed: the windows needn't be centred
    num = np.einsum("smb,mb->s", windows, qb)
    sums = windows.sum(axis=1)
    var = np.einsum("smb,smb->s", windows, windows) - np.einsum("sb,sb->s", sums, sums) / n
    scores = num / (np.sqrt(np.maximum(var, 1e-6) * float((qb * qb).sum())) + 1e-9)
    i = int(scores.argmax())
    return float(scores[i]), int(starts[i])


def same_samples(received: np.ndarray, reference: np.ndarray, lag: int, rate: int) -> int | None:
    """Find the sample lag at which ``received`` equals ``reference`` up to μ-law rounding.

    Args:
        received: Received int16 samples.
        reference: Registered int16 samples at the same rate.
        lag: Estimated lag: received sample ``j`` is reference sample ``j + lag``.
        rate: The common sample rate (the search spans ±10 ms around ``lag``).

    Returns:
        The exact lag, or None when the samples differ (another voice, or processed audio).
    """
    rx = np.asarray(received, dtype=np.int32)
    ref = np.asarray(reference, dtype=np.int32)
    probe_len, reach = 32, rate // 100
    lo, hi = max(0, -lag + reach), min(len(rx), len(ref) - lag - reach) - probe_len
    if hi <= lo:
        return None
    blocks = (hi - lo) // probe_len
    if blocks == 0:
        return None
    loudness = np.abs(rx[lo : lo + blocks * probe_len]).reshape(blocks, probe_len).mean(axis=1)
    p = lo + int(loudness.argmax()) * probe_len
    probe = rx[p : p + probe_len]
    if np.abs(probe).max() < 500:
        return None
    region = ref[p + lag - reach : p + lag + reach + probe_len]
    wins = sliding_window_view(region, probe_len)
    tol = np.abs(wins) // 16 + 16
    hits = np.flatnonzero((np.abs(wins - probe) <= tol).all(axis=1))
    for h in hits:
        exact = lag - reach + int(h)
        a, b = max(0, -exact), min(len(rx), len(ref) - exact)
        if b - a < len(rx) // 2:
            continue
        seg, want = rx[a:b:3], ref[a + exact : b + exact : 3]  # every 3rd sample is plenty
        if (np.abs(seg - want) <= np.abs(want) // 16 + 16).mean() >= 0.995:
            return exact
    return None
