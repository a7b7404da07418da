"""What every runner keeps the same way: active and recent calls, admission, metrics, waiting."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from runner.base import ActiveCall, CallRefused

RECENT_CALLS = 200


class CallRegistry:
    """Active calls (with the task that follows each), recent calls, and who may come in.

    Args:
        max_calls: The machine's cap (``MAX_CONCURRENT_CALLS``).
        metrics: The launcher's Prometheus metrics, or None.
    """

    def __init__(self, max_calls: int, metrics: Any = None):
        self._max_calls = max_calls
        self._metrics = metrics
        self._active: dict[str, ActiveCall] = {}
        self._recent: deque[ActiveCall] = deque(maxlen=RECENT_CALLS)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._draining = False
        self._reserved = 0  # calls admitted but still being built or handed over
        self.started_total = 0
        # Told of every started and ended call (a worker's event stream, the fleet registry).
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []

    @property
    def draining(self) -> bool:
        """True once a drain began: no new calls."""
        return self._draining

    def active_count(self) -> int:
        """Calls running, being built or being handed over now."""
        return len(self._active) + self._reserved

    def admission(self) -> CallRefused | None:
        """Why a new call would be refused now, or None."""
        if self._draining:
            return CallRefused("draining", retry_after=30)
        if self.active_count() >= self._max_calls:
            return CallRefused("full", retry_after=5)
        return None

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """Hold a place for a call while it is set up.

        Raises:
            CallRefused: Full or draining (checked before any work is done).
        """
        refused = self.admission()
        if refused is not None:
            raise refused
        self._reserved += 1
        try:
            yield
        finally:
            self._reserved -= 1

    def _register(self, active: ActiveCall, follow: Awaitable[None], started: float) -> None:
        """Track a started call; ``follow`` runs until the call is over."""
        self._active[active.call_id] = active
        self._tasks[active.call_id] = asyncio.ensure_future(follow)
        self.started_total += 1
        if self._metrics is not None:
            self._metrics.dispatch_seconds.observe(time.perf_counter() - started)
            self._metrics.calls_started.labels(transport=active.transport).inc()
            self._metrics.active_calls.set(len(self._active))
        self.emit("started", active.summary())

    def add_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Be told of every call event: ``listener(kind, data)``."""
        self._listeners.append(listener)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Tell the listeners about a call (``started``, ``ended`` or ``refused``)."""
        for listener in self._listeners:
            listener(kind, data)

    def _finished(self, active: ActiveCall) -> None:
        """Move a call that ended to the recent list and count it."""
        active.ended_at = active.ended_at or time.time()
        self._active.pop(active.call_id, None)
        self._tasks.pop(active.call_id, None)
        self._recent.appendleft(active)
        if self._metrics is not None:
            self._metrics.calls_ended.labels(reason=active.end_reason).inc()
            self._metrics.active_calls.set(len(self._active))
        self.emit("ended", active.details())

    def calls(self) -> list[ActiveCall]:
        """Active calls first, then recent ones."""
        return [*self._active.values(), *self._recent]

    def get(self, call_id: str) -> ActiveCall | None:
        """One call by id, active or recent."""
        return self._active.get(call_id) or next(
            (c for c in self._recent if c.call_id == call_id), None
        )

    async def wait(self, call_id: str) -> None:
        """Return when the call has finished (the media websocket stays open until then)."""
        task = self._tasks.get(call_id)
        if task is not None:
            await asyncio.shield(task)
