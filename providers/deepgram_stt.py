"""Deepgram STT that loses none of the caller's audio when its websocket drops.

Pipecat's ``DeepgramSTTService`` reconnects a dropped socket after a backoff (4 s at first)
and drops the audio that arrives meanwhile (``run_stt`` has nowhere to send it). Incident:
the socket closed after the greeting, the caller's next turn fell into that gap and was lost.

Here the audio that finds the socket down is kept (the last ``KEEP_SECS``), and so is the
audio sent since the last final transcript (a drop mid-turn loses what the old socket heard but
never finalised). The reconnect starts at once, through Pipecat's own reconnect cycle (which
buffers the frames that arrive while it runs and replays them), and the kept audio is sent
first once the socket is back.
If reconnecting keeps failing, Pipecat gives up and marks the service unusable, and the call
ends ``stt_unavailable`` (``assembly.provider_faults``), unless a backup STT takes over: the
call's ``STTSwitcher`` (``providers.failover``) reads :attr:`down_secs` and hands the backup
the kept audio (:meth:`take_kept_audio`) once the socket stays down too long.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator

from loguru import logger
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.deepgram.stt import DeepgramSTTService

KEEP_SECS = 10.0  # the most caller audio kept while the socket is down


class ResilientDeepgramSTTService(DeepgramSTTService):
    """``DeepgramSTTService`` that keeps the audio and reconnects at once after a drop."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._kept: deque[bytes] = deque()  # not sent yet: the socket was down
        self._kept_bytes = 0
        self._unconfirmed: deque[bytes] = deque()  # sent since the last final transcript
        self._unconfirmed_bytes = 0
        self._was_up = False
        self._down_since: float | None = None  # when audio first found the socket down
        self._recovery: asyncio.Task[None] | None = None

    @property
    def down_secs(self) -> float:
        """How long the caller's audio has found the socket down (0 while it is up)."""
        return 0.0 if self._down_since is None else time.monotonic() - self._down_since

    def take_kept_audio(self) -> bytes:
        """Hand over the audio kept for the new socket (another STT takes over); forget it."""
        audio = b"".join(self._kept)
        self._kept.clear()
        self._kept_bytes = 0
        self._down_since = None
        return audio

    async def probe(self) -> bool:
        """Whether the socket is up; if nobody is reconnecting it, start a reconnect.

        A service written off after failed reconnects is made usable again once it connects.

        Returns:
            Whether the service can transcribe now.
        """
        if self._connection is not None:
            if not self.is_usable:
                await self.set_usable(True)
            return True
        task = self._connection_task
        if self._recovery is None and (task is None or task.done()):
            self._recovery = self.create_task(self._recover(), f"{self}::recover")
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Send the audio (after any kept while the socket was down), or keep it.

        Args:
            audio: Raw caller audio.

        Yields:
            None (the transcripts come from the socket's receive task).
        """
        if self._connection is not None:
            self._was_up = True
            while self._kept and await self._send(self._kept[0]):
                self._kept_bytes -= len(self._kept.popleft())
            if not self._kept and await self._send(audio):
                self._down_since = None
                yield None
                return
        if self._was_up and self._recovery is None:
            self._was_up = False
            # What the old socket heard but never finalised goes again, before the rest.
            self._kept.extendleft(reversed(self._unconfirmed))
            self._kept_bytes += self._unconfirmed_bytes
            self._unconfirmed.clear()
            self._unconfirmed_bytes = 0
            self._recovery = self.create_task(self._recover(), f"{self}::recover")
        self._keep(audio)
        if self._down_since is None:
            self._down_since = time.monotonic()
        yield None

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Push a frame; a final transcript confirms the audio sent so far."""
        if isinstance(frame, TranscriptionFrame):
            self._unconfirmed.clear()
            self._unconfirmed_bytes = 0
        await super().push_frame(frame, direction)

    async def _send(self, audio: bytes) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            await connection.send_media(audio)
        except Exception as exc:
            logger.warning(f"{self}: send failed, the socket is down: {exc}")
            self._connection = None
            return False
        self._unconfirmed.append(audio)
        self._unconfirmed_bytes += len(audio)
        while self._unconfirmed_bytes > self._limit() and len(self._unconfirmed) > 1:
            self._unconfirmed_bytes -= len(self._unconfirmed.popleft())
        return True

    def _limit(self) -> int:
        return int(KEEP_SECS * self.sample_rate * 2)  # bytes of 16-bit mono audio

    def _keep(self, audio: bytes) -> None:
        self._kept.append(audio)
        self._kept_bytes += len(audio)
        while self._kept_bytes > self._limit() and len(self._kept) > 1:
            self._kept_bytes -= len(self._kept.popleft())

    async def _recover(self) -> None:
        logger.warning(f"{self}: the socket dropped; reconnecting now, keeping the audio")
        try:
            await self._reconnect()
        finally:
            self._recovery = None
