"""Media streams handed to workers and not yet started: who has each, and for how long.

A stream is counted against the machine's cap from the moment its connection is handed over
until its worker reports the call started, or refused it (bad token, full). A worker that says
neither within ``timeout`` seconds has its place given back. A call's stream URL is tied to the
worker that got it first for the media token's lifetime: a second stream for that call (a
replayed token) reaches the same worker, whose record of used tokens refuses it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class PendingStream:
    """A stream handed to ``worker`` whose call has not started yet."""

    worker: Any  # runner.workers.WorkerProcess
    handed_at: float  # perf_counter, for the dispatch-time metric
    timer: asyncio.TimerHandle


class StreamHandovers:
    """Pending streams and sticky call-to-worker routes.

    Args:
        timeout: Seconds a worker may take to start or refuse a handed-over stream.
        sticky_secs: How long a call's stream URL keeps going to the same worker.
    """

    def __init__(self, timeout: float, sticky_secs: float):
        self._timeout = timeout
        self._sticky_secs = sticky_secs
        self._pending: dict[str, PendingStream] = {}
        self._routes: dict[str, tuple[Any, float]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def routed(self, call_id: str) -> Any | None:
        """The worker this call's stream went to before (None: first time, or expired)."""
        route = self._routes.get(call_id)
        return route[0] if route and route[1] > time.monotonic() else None

    def sent(self, call_id: str, worker: Any, on_timeout: Any) -> None:
        """Record a stream handed to ``worker``; ``on_timeout(call_id)`` if it never resolves."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self._timeout, on_timeout, call_id)
        self._pending[call_id] = PendingStream(worker, time.perf_counter(), timer)
        self._routes[call_id] = (worker, time.monotonic() + self._sticky_secs)

    def resolve(self, call_id: str, worker: Any = None) -> PendingStream | None:
        """The pending stream of ``call_id`` (from ``worker``, if given), no longer pending."""
        pending = self._pending.get(call_id)
        if pending is None or (worker is not None and pending.worker is not worker):
            return None
        del self._pending[call_id]
        pending.timer.cancel()
        return pending

    def of_worker(self, worker: Any) -> list[str]:
        """Call ids of the streams still pending on ``worker``."""
        return [cid for cid, p in self._pending.items() if p.worker is worker]

    def prune(self) -> None:
        """Forget routes whose tokens have expired."""
        now = time.monotonic()
        for call_id in [c for c, (_, until) in self._routes.items() if until <= now]:
            del self._routes[call_id]
