"""Audio helpers: espeak-ng synthesis (cached), resampling, encodings and WAV."""

from __future__ import annotations

import asyncio
import io
import struct
import wave
from dataclasses import dataclass

import numpy as np
import soxr
from loguru import logger

ESPEAK_RATE = 22050


@dataclass(frozen=True)
class Clip:
    """A synthesized utterance.

    Attributes:
        pcm: Mono int16 samples.
        sample_rate: Sample rate of ``pcm``.
        words: ``(word, start_s, end_s)`` approximate word timings.
    """

    pcm: np.ndarray
    sample_rate: int
    words: tuple[tuple[str, float, float], ...]

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return len(self.pcm) / self.sample_rate


def wav_payload(data: bytes) -> tuple[bytes, int, int, int]:
    """Extract PCM from a WAV, tolerating the unknown sizes espeak writes to a pipe.

    Args:
        data: WAV file bytes.

    Returns:
        ``(pcm_bytes, sample_rate, channels, sample_width)``.

    Raises:
        ValueError: If no ``fmt `` or ``data`` chunk is found.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            fmt = (rate, channels, bits // 8)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("data chunk before fmt chunk")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), pos + 8 + size)
            return data[pos + 8 : end], *fmt
        pos += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def to_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap mono int16 PCM in a WAV container.

    Args:
        pcm: Mono int16 little-endian samples.
        sample_rate: Sample rate.

    Returns:
        WAV bytes.
    """
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()


def resample(pcm: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Resample int16 samples.

    Args:
        pcm: Mono int16 samples.
        src: Source rate.
        dst: Target rate.

    Returns:
        Mono int16 samples at ``dst``.
    """
    if src == dst or len(pcm) == 0:
        return pcm
    out = soxr.resample(pcm.astype(np.float32) / 32768.0, src, dst)
    return (np.clip(out, -1.0, 1.0) * 32767.0).astype(np.int16)


_ULAW_BIAS = 0x84


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """Encode int16 samples to G.711 mu-law."""
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + _ULAW_BIAS
    exp = np.floor(np.log2(mag)).astype(np.int32) - 7
    exp = np.clip(exp, 0, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    """Decode G.711 mu-law bytes to int16 samples."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    sign, exp, mant = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    mag = ((mant << 3) + _ULAW_BIAS) << exp
    return np.where(sign != 0, _ULAW_BIAS - mag, mag - _ULAW_BIAS).astype(np.int16)


def encode(pcm: np.ndarray, encoding: str) -> bytes:
    """Encode int16 samples to a provider encoding name.

    Args:
        pcm: Mono int16 samples.
        encoding: ``pcm_s16le``/``linear16``, ``pcm_f32le`` or ``pcm_mulaw``/``mulaw``/``ulaw``.

    Returns:
        Encoded bytes.

    Raises:
        ValueError: For unsupported encodings.
    """
    if encoding in ("pcm_s16le", "linear16", "pcm"):
        return pcm.astype("<i2").tobytes()
    if encoding == "pcm_f32le":
        return (pcm.astype("<f4") / 32768.0).tobytes()
    if encoding in ("pcm_mulaw", "mulaw", "ulaw"):
        return ulaw_encode(pcm)
    raise ValueError(f"unsupported encoding {encoding!r}")


def decode(data: bytes, encoding: str) -> np.ndarray:
    """Decode provider-encoded audio bytes to int16 samples.

    Args:
        data: Encoded audio.
        encoding: Encoding name as in :func:`encode`.

    Returns:
        Mono int16 samples.

    Raises:
        ValueError: For unsupported encodings.
    """
    if encoding in ("pcm_s16le", "linear16", "pcm"):
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
    if encoding in ("pcm_mulaw", "mulaw", "ulaw"):
        return ulaw_decode(data)
    raise ValueError(f"unsupported encoding {encoding!r}")


def _word_times(text: str, pcm: np.ndarray, rate: int) -> tuple[tuple[str, float, float], ...]:
    """Spread words over the voiced span of a clip in proportion to their length."""
    words = text.split()
    if not words:
        return ()
    frame = max(1, rate // 100)
    n = len(pcm) // frame
    energy = np.abs(pcm[: n * frame].astype(np.int32)).reshape(n, frame).mean(axis=1)
    voiced = np.nonzero(energy > 300)[0]
    t0 = (voiced[0] if len(voiced) else 0) * frame / rate
    t1 = ((voiced[-1] + 1) if len(voiced) else n) * frame / rate
    total = sum(len(w) + 1 for w in words)
    out, cursor = [], t0
    for w in words:
        span = (t1 - t0) * (len(w) + 1) / total
        out.append((w, round(cursor, 3), round(cursor + span * 0.9, 3)))
        cursor += span
    return tuple(out)


class Synthesizer:
    """espeak-ng synthesis with an in-memory cache keyed by (text, rate)."""

    def __init__(self, voice: str = "en-us") -> None:
        self._voice = voice
        self._cache: dict[tuple[str, int], Clip] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def synth(self, text: str, sample_rate: int) -> Clip:
        """Synthesize ``text`` at ``sample_rate`` (cached).

        Args:
            text: Text to speak.
            sample_rate: Target sample rate.

        Returns:
            The clip.
        """
        key = (text.strip(), sample_rate)
        if key in self._cache:
            return self._cache[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._cache:
                self._cache[key] = await self._run(key[0], sample_rate)
        return self._cache[key]

    async def _run(self, text: str, sample_rate: int) -> Clip:
        if not text:
            return Clip(np.zeros(0, dtype=np.int16), sample_rate, ())
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", self._voice, "--stdout", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"espeak-ng failed: {err.decode(errors='replace')[:200]}")
        raw, rate, _, _ = wav_payload(out)
        src = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(None, resample, src, rate, sample_rate)
        logger.debug(f"espeak: {len(text)} chars -> {len(pcm) / sample_rate:.2f}s @ {sample_rate}")
        return Clip(pcm, sample_rate, _word_times(text, pcm, sample_rate))
