"""Serving the launcher: uvicorn with a drain on SIGTERM and worker recycling.

SIGTERM (or SIGINT): stop accepting calls (``/readyz`` turns 503, new calls are refused), let
active calls finish for up to ``DRAIN_TIMEOUT_SECS``, end the rest with a goodbye, then exit.
After ``WORKER_MAX_CALLS`` calls the process drains the same way and exits, so its supervisor
(Docker, systemd, Kubernetes) starts a fresh one and memory cannot creep.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import uvicorn
from loguru import logger

DRAIN_GOODBYE = "I am sorry, I have to end our call now. Please call back in a moment. Goodbye!"


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first exit signal drains calls before shutting down."""

    def __init__(self, config: uvicorn.Config, runner: Any, drain_timeout: float):
        super().__init__(config)
        self.runner = runner
        self.drain_timeout = drain_timeout
        self._drain: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        """First signal: drain, then exit. A second signal: exit now."""
        if self._drain is None and not self.should_exit:
            logger.info(f"signal {sig}: draining calls (up to {self.drain_timeout:.0f}s)")
            loop = asyncio.get_event_loop()
            self._drain = loop.create_task(self.drain_and_exit(), context=contextvars.Context())
            return
        super().handle_exit(sig, frame)

    async def drain_and_exit(self) -> None:
        """Drain the runner's calls, then let uvicorn shut down."""
        try:
            await self.runner.drain(self.drain_timeout, DRAIN_GOODBYE)
        except Exception as exc:  # a worker that died meanwhile: exit all the same
            logger.warning(f"drain: {type(exc).__name__}: {exc}")
        finally:
            self.should_exit = True

    async def recycle_when_due(self, max_calls: int, check_every: float = 1.0) -> None:
        """Drain and exit once this process has started ``max_calls`` calls."""
        while self.runner.started_total < max_calls:
            await asyncio.sleep(check_every)
        if self._drain is None:
            logger.info(f"recycling after {self.runner.started_total} calls")
            self._drain = asyncio.create_task(self.drain_and_exit())
