"""What every process that serves calls does around its life (the launcher and each worker).

On the way in: storage opened (and migrated) first, then the runner opened (models warmed and
each persona's first call paid, or worker processes started), then the event-loop lag watch and
any extra services. On the way out: every call stopped, post-call jobs finished (up to 15 s),
the services stopped, storage closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from config import Settings
from postcall.background import wait_for_background
from runner.inprocess import InProcessRunner
from runner.plugins import default_plugins


class Service(Protocol):
    """Something that runs beside the calls (the webhook delivery worker)."""

    def start(self) -> None:
        """Begin in the background."""
        ...

    async def stop(self) -> None:
        """Finish and stop."""
        ...


@asynccontextmanager
async def serving_calls(
    runner: Any, storage: Any, metrics: Any, services: Sequence[Service] = ()
) -> AsyncIterator[None]:
    """Open everything calls need, yield while the process serves, close it all in order.

    Args:
        runner: The process's ``CallRunner``.
        storage: The process's storage backend.
        metrics: The process's metrics (its loop-lag watch runs meanwhile).
        services: Started after the runner, stopped after the calls' post-call jobs.
    """
    await storage.open()  # migrates once, before any worker opens the file
    await runner.open()
    for service in services:
        service.start()
    lag = asyncio.create_task(metrics.watch_loop())
    try:
        yield
    finally:
        lag.cancel()
        await runner.shutdown()
        await wait_for_background(timeout=15)  # post-call jobs; unfinished ones are logged
        for service in services:
            await service.stop()
        await storage.close()


def local_runner(settings: Settings, metrics: Any, storage: Any) -> InProcessRunner:
    """The runner of a process that runs calls itself, with the default plugins."""
    return InProcessRunner(
        settings,
        plugins=default_plugins(settings, metrics, storage),
        metrics=metrics,
        resources={"storage": storage, "metrics": metrics},
    )
