"""One call's storage writes, in order, on their own task: the audio path never waits on I/O.

Plugins submit coroutine factories (``plugins.call_writer.writer_for`` gives each call its one
writer); a single consumer task awaits them one after another, so the call row is created
before its turns and turns keep their order. A failed write is retried a few times and then
logged; it never reaches the call. The post-call job drains it (``postcall.finish``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

Write = Callable[[], Awaitable[Any]]
_ATTEMPTS = 3


class CallWriter:
    """An ordered write queue with one consumer task."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self._queue: asyncio.Queue[tuple[str, Write] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def submit(self, name: str, write: Write) -> None:
        """Queue a write (never blocks; safe from frame processing and event handlers)."""
        if self._closed:  # late writes still land, just outside the ordered queue
            asyncio.create_task(self._write(name, write))
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"writer-{self.call_id}")
        self._queue.put_nowait((name, write))

    def close(self) -> None:
        """No more ordered writes; the task exits once the queue is empty."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)

    async def drain(self, timeout: float = 30.0) -> None:
        """Close and wait (up to ``timeout`` s) until every queued write is done."""
        self.close()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout)

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            await self._write(*item)

    async def _write(self, name: str, write: Write) -> None:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await write()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # storage trouble must never reach the call
                if attempt == _ATTEMPTS:
                    logger.error(f"[{self.call_id}] storage write {name} failed: {exc!r}")
                    return
                await asyncio.sleep(0.2 * attempt)
