"""Deterministic speech fixtures and small audio helpers for the simulated callers.

Speech is synthesised with espeak-ng and converted with ``sox -D`` (no dither), so the same text
always gives byte-identical audio. Results are cached on disk under
``$SWITCHBOARD_TEST_AUDIO_CACHE`` or, by default, ``<repo>/.cache/test-audio/``.

G.711 μ-law is implemented in pure numpy (``audioop`` is deprecated and gone in Python 3.13).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr
from loguru import logger

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "SWITCHBOARD_TEST_AUDIO_CACHE"
_FIXTURE_VERSION = "1"  # bump to invalidate every cached fixture

_MULAW_BIAS = 0x84
_MULAW_CLIP14 = 8159
_MULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def cache_dir() -> Path:
    """Return (and create) the directory where synthesised speech is cached."""
    path = Path(os.environ.get(CACHE_ENV) or REPO_ROOT / ".cache" / "test-audio")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise RuntimeError(f"{tool} is not installed (apt-get install {tool})")
    return exe


def speech_wav(text: str, rate: int = 16000, voice: str = "en-us", speed: int = 160) -> Path:
    """Synthesise ``text`` to a cached mono 16-bit WAV at ``rate`` Hz and return its path.

    Args:
        text: What to say.
        rate: Output sample rate in Hz.
        voice: espeak-ng voice name.
        speed: espeak-ng speed in words per minute.

    Returns:
        Path of the cached WAV file.
    """
    key = hashlib.sha1(
        f"{_FIXTURE_VERSION}|{voice}|{speed}|{rate}|{text}".encode()
    ).hexdigest()[:20]
    out = cache_dir() / f"{key}.wav"
    if out.exists():
        return out
    espeak, sox = _require("espeak-ng"), _require("sox")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        raw = Path(tmp) / "raw.wav"
        conv = Path(tmp) / "out.wav"
        subprocess.run(
            [espeak, "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [sox, "-D", str(raw), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer",
             str(conv)],
            check=True,
            capture_output=True,
        )
        os.replace(conv, out)  # atomic, safe with parallel test workers
    logger.debug(f"synthesised {text!r} at {rate} Hz -> {out.name}")
    return out


def speech_pcm(text: str, rate: int = 16000, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """Return ``text`` spoken by espeak-ng as mono int16 PCM at ``rate`` Hz (deterministic)."""
    pcm, file_rate = read_wav(speech_wav(text, rate, voice, speed))
    assert file_rate == rate
    return pcm


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a mono (or first channel of a multi-channel) 16-bit PCM WAV.

    Returns:
        ``(pcm, sample_rate)`` with ``pcm`` as int16.
    """
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    return data.reshape(-1, channels)[:, 0].astype(np.int16), rate


def write_wav(path: str | Path, pcm: np.ndarray, rate: int) -> Path:
    """Write mono int16 PCM to a WAV file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return path


def silence(seconds: float, rate: int) -> np.ndarray:
    """Return ``seconds`` of digital silence as int16 PCM."""
    return np.zeros(int(round(seconds * rate)), dtype=np.int16)


def pad(pcm: np.ndarray, rate: int, before: float = 0.0, after: float = 0.0) -> np.ndarray:
    """Surround ``pcm`` with silence."""
    return np.concatenate([silence(before, rate), pcm, silence(after, rate)]).astype(np.int16)


def resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample int16 PCM with soxr (high quality, whole-buffer, no stream latency)."""
    if from_rate == to_rate:
        return np.asarray(pcm, dtype=np.int16)
    return soxr.resample(np.asarray(pcm, dtype=np.int16), from_rate, to_rate, quality="HQ")


def rms(pcm: np.ndarray) -> float:
    """Root-mean-square level of int16 PCM (0 for an empty buffer)."""
    if len(pcm) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(np.asarray(pcm, dtype=np.float64)))))


def frame_rms(pcm: np.ndarray, rate: int, frame_ms: float = 10.0) -> np.ndarray:
    """RMS level of consecutive ``frame_ms`` frames (the last partial frame is dropped)."""
    n = max(1, int(rate * frame_ms / 1000))
    frames = len(pcm) // n
    if frames == 0:
        return np.zeros(0)
    x = np.asarray(pcm[: frames * n], dtype=np.float64).reshape(frames, n)
    return np.sqrt(np.mean(x * x, axis=1))


def trim_silence(pcm: np.ndarray, rate: int, threshold: float = 300.0) -> np.ndarray:
    """Cut leading and trailing audio whose 10 ms RMS is at most ``threshold``."""
    voiced = np.flatnonzero(frame_rms(pcm, rate) > threshold)
    if len(voiced) == 0:
        return np.zeros(0, dtype=np.int16)
    step = rate // 100
    return np.asarray(pcm[voiced[0] * step : (voiced[-1] + 1) * step], dtype=np.int16)


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """Encode int16 PCM to G.711 μ-law bytes (bit-exact with ``audioop.lin2ulaw``)."""
    x = np.asarray(pcm, dtype=np.int32) >> 2  # 14-bit, arithmetic shift like CPython
    mask = np.where(x < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(x), _MULAW_CLIP14) + (_MULAW_BIAS >> 2)
    seg = np.searchsorted(_MULAW_SEG_END, mag, side="left")  # first seg with mag <= end
    seg_c = np.minimum(seg, 7)
    uval = np.where(seg >= 8, 0x7F, (seg_c << 4) | ((mag >> (seg_c + 1)) & 0x0F))
    return ((uval ^ mask) & 0xFF).astype(np.uint8).tobytes()


def _mulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


_MULAW_DECODE = _mulaw_table()


def mulaw_decode(data: bytes) -> np.ndarray:
    """Decode G.711 μ-law bytes to int16 PCM (bit-exact with ``audioop.ulaw2lin``)."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
