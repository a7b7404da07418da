"""A stereo WAV written chunk by chunk as the call goes, never held in memory.

Python's ``wave`` patches the header's sizes after every chunk (``writeframes``), so the file on
disk is a valid WAV of everything written so far even if the process is killed mid-call. Disk
writes run in a thread, one after the other, from a queue fed by the audio path without waiting.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from loguru import logger


class WavStream:
    """Appends interleaved 16-bit PCM to ``path``; :meth:`close` finishes the file.

    Args:
        path: Where the WAV goes (parent directories are created).
        sample_rate: Frames per second.
        channels: 2 for caller-left / bot-right.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int = 2) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.bytes_written = 0
        self._wav: wave.Wave_write | None = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def duration_secs(self) -> float:
        """Seconds of audio written so far."""
        return self.bytes_written / (2 * self.channels * self.sample_rate)

    def write(self, pcm: bytes) -> None:
        """Queue a chunk (non-blocking)."""
        if self._closed or not pcm:
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"wav-{self.path.stem}")
        self._queue.put_nowait(pcm)

    async def close(self) -> None:
        """Write what is queued, patch the header and close the file."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        try:
            while (chunk := await self._queue.get()) is not None:
                await asyncio.to_thread(self._append, chunk)
        except Exception as exc:  # a full disk must not take the call down
            self._closed = True  # stop queueing audio nobody will write
            logger.error(f"recording {self.path.name}: {exc!r}")
        finally:
            if self._wav is not None:
                await asyncio.to_thread(self._wav.close)

    def _append(self, chunk: bytes) -> None:
        if self._wav is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in _run
            wav.setnchannels(self.channels)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            self._wav = wav
        frame = 2 * self.channels
        chunk = chunk[: len(chunk) - len(chunk) % frame]
        self._wav.writeframes(chunk)  # appends, then patches the header's sizes
        self.bytes_written += len(chunk)
