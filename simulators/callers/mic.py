"""Build a caller's microphone track: phrases at set times, silence in between."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulators.callers.audio import silence, speech_pcm, write_wav


def mic_track(path: Path, cues: list[tuple[float, str]], total: float, rate: int = 16000) -> Path:
    """Write a WAV where each ``(at_secs, phrase)`` starts speaking at ``at_secs``.

    Args:
        path: Where to write the WAV.
        cues: Phrases and when they start, in order.
        total: Length of the track in seconds (silence after the last phrase).
        rate: Sample rate.

    Returns:
        The path written.
    """
    parts: list[np.ndarray] = []
    now = 0.0
    for at, phrase in cues:
        if at < now:
            raise ValueError(f"cue {phrase!r} at {at}s overlaps the previous one (ends {now:.2f}s)")
        parts.append(silence(at - now, rate))
        pcm = speech_pcm(phrase, rate)
        parts.append(pcm)
        now = at + len(pcm) / rate
    parts.append(silence(max(0.0, total - now), rate))
    return write_wav(path, np.concatenate(parts), rate)
