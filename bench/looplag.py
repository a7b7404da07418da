"""Event-loop lag of the bench process itself: are the simulated callers keeping real time?

The callers send a 20 ms frame on an absolute clock and time-stamp what they receive. If the
bench's own loop runs late, frames bunch up and arrivals look late, which would show up as
launcher latency or gaps that are really the bench's. This monitor makes that visible.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np


class LoopLagMonitor:
    """Samples how late a ``sleep(interval)`` wakes up, in the running loop.

    Args:
        interval: Seconds between samples.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, time.perf_counter() - before - self.interval))

    async def __aenter__(self) -> LoopLagMonitor:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def summary(self) -> dict[str, Any]:
        """p50/p95/max lag in seconds over the window."""
        if not self.lags:
            return {"samples": 0}
        arr = np.asarray(self.lags)
        return {
            "samples": len(self.lags),
            "p50_secs": round(float(np.percentile(arr, 50)), 4),
            "p95_secs": round(float(np.percentile(arr, 95)), 4),
            "max_secs": round(float(arr.max()), 4),
        }
