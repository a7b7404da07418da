"""Levels of 16-bit mono PCM: RMS and peak, as int16 sample values (32768 = full scale)."""

from __future__ import annotations

import numpy as np

Pcm = bytes | bytearray | memoryview | np.ndarray


def _samples(pcm: Pcm) -> np.ndarray:
    return pcm if isinstance(pcm, np.ndarray) else np.frombuffer(pcm, dtype=np.int16)


def rms(pcm: Pcm) -> float:
    """Root mean square of the samples (0 for no samples)."""
    values = _samples(pcm).astype(np.float32)
    return float(np.sqrt(np.mean(values * values))) if values.size else 0.0


def peak(pcm: Pcm) -> int:
    """Largest absolute sample (0 for no samples)."""
    samples = _samples(pcm)
    return max(int(samples.max()), -int(samples.min())) if samples.size else 0
