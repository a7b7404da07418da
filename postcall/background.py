"""Run after-call jobs in the background with retries, so ending a call never waits on them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

_jobs: set[asyncio.Task[None]] = set()


def run_in_background(
    name: str,
    job: Callable[[], Awaitable[None]],
    attempts: int = 5,
    first_delay: float = 1.0,
) -> asyncio.Task[None]:
    """Start ``job`` now; on failure retry with exponential backoff up to ``attempts`` times.

    Args:
        name: What the job is (logs).
        job: A factory returning a fresh awaitable per attempt.
        attempts: Tries in all.
        first_delay: Seconds before the first retry; doubles each time.

    Returns:
        The task (kept referenced here until it finishes).
    """

    async def _run() -> None:
        delay = first_delay
        for attempt in range(1, attempts + 1):
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed job is retried, never raised into a call
                if attempt == attempts:
                    logger.error(f"{name} failed after {attempts} attempts: {exc!r}")
                    return
                logger.warning(f"{name} attempt {attempt} failed ({exc!r}); retry in {delay:.1f}s")
                await asyncio.sleep(delay)
                delay *= 2

    task = asyncio.create_task(_run(), name=name)
    _jobs.add(task)
    task.add_done_callback(_jobs.discard)
    return task


async def wait_for_background(timeout: float) -> None:
    """Give running jobs up to ``timeout`` s to finish (process shutdown)."""
    if _jobs:
        await asyncio.wait(list(_jobs), timeout=timeout)
