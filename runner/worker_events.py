"""A worker's call events as the launcher follows them: no polling per call.

Each worker streams one line of JSON per event on ``GET /internal/events`` (see
``CallRegistry.emit``): ``started`` (the call's summary), ``ended`` (its final details) and
``refused`` (a handed-over stream the worker would not run). The launcher keeps one such stream
open per worker; when it breaks, the worker is gone and so are its calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
from loguru import logger

KEEP_ENDED = 1000  # ended calls remembered until someone asks (bounded)


class WorkerGone(Exception):
    """The worker's event stream ended: its calls ended with it."""


class WorkerEvents:
    """One worker's started and ended calls.

    Args:
        on_event: Called with every event (``kind``, payload) as it arrives.
    """

    def __init__(self, on_event: Callable[[str, dict[str, Any]], None]):
        self._on_event = on_event
        self._started: set[str] = set()
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._changed = asyncio.Event()
        self.gone = False

    async def follow(self, http: httpx.AsyncClient) -> None:
        """Read the worker's events until its stream ends (then every waiter hears it)."""
        try:
            async with http.stream("GET", "/internal/events", timeout=None) as response:
                async for line in response.aiter_lines():
                    if line.strip():
                        self._receive(json.loads(line))
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning(f"worker event stream ended: {type(exc).__name__}")
        finally:
            self.gone = True
            self._wake()

    def _receive(self, event: dict[str, Any]) -> None:
        kind, payload = str(event.get("event")), event.get("data") or {}
        call_id = str(payload.get("call_id") or "")
        if kind == "started":
            self._started.add(call_id)
        elif kind == "ended":
            self._started.discard(call_id)
            self._ended[call_id] = payload
            while len(self._ended) > KEEP_ENDED:
                self._ended.popitem(last=False)
        self._on_event(kind, payload)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def outcome(self, call_id: str, appear_within: float | None = None) -> dict[str, Any]:
        """Wait for the call's end and return its final details.

        Args:
            call_id: The call.
            appear_within: Seconds the call may take to start (a browser still connecting);
                None: it has started or is known to be starting.

        Returns:
            The final details; empty if the call never started in time.

        Raises:
            WorkerGone: The worker died first.
        """
        loop = asyncio.get_running_loop()
        deadline = None if appear_within is None else loop.time() + appear_within
        while True:
            if call_id in self._ended:
                return self._ended.pop(call_id)
            if self.gone:
                raise WorkerGone(call_id)
            changed = self._changed
            if deadline is not None and call_id not in self._started:
                left = deadline - loop.time()
                if left <= 0:
                    return {}
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), left)
            else:
                await changed.wait()
