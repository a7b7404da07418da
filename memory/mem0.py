"""Mem0 through Pipecat's ``Mem0MemoryService`` (the platform API; the ``mem0`` extra).

Only imported when ``MEMORY_BACKEND=mem0``; install with ``uv sync --extra mem0``. Mem0's
client sends PostHog usage telemetry unless ``MEM0_TELEMETRY`` is false, so this module sets
``MEM0_TELEMETRY=False`` (``os.environ.setdefault``: an explicit value still wins) before mem0
is imported. The client talks to ``MEM0_BASE_URL`` (``host=``), ``https://api.mem0.ai`` unless
set otherwise.

One service per caller (Mem0 ``user_id`` = ``<tenant>:<caller key>``), at most
``max_callers`` kept (the least recently used one is closed). Building one makes the client
check the key (``GET /v1/ping/``): a wrong key is a ``ValueError`` naming Mem0. The build runs
in a thread and outlives a recall that gave up on its budget, so the next turn finds it ready.
We call the service's search and store helpers ourselves rather than placing it in the
pipeline, so recall keeps our per-turn budget and never grows the context. Once built, those
helpers log Mem0 failures and answer nothing (an empty recall; an add that stored nothing),
as they do inside a Pipecat pipeline.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from typing import Any

from loguru import logger

from memory.base import MemoryBackend

DEFAULT_HOST = "https://api.mem0.ai"


def _service_class() -> Any:
    """Pipecat's Mem0 service class, with mem0's telemetry off unless asked for."""
    os.environ.setdefault("MEM0_TELEMETRY", "False")
    try:
        from pipecat.services.mem0.memory import Mem0MemoryService
    except Exception as exc:  # pipecat raises ImportError when mem0ai is missing
        raise ValueError(
            "MEMORY_BACKEND=mem0 needs the mem0ai package: uv sync --extra mem0"
        ) from exc
    return Mem0MemoryService


class Mem0Memory(MemoryBackend):
    """Memories in Mem0 (``Token`` API key; ``host`` overridable for tests/self-hosting)."""

    name = "mem0"

    def __init__(self, api_key: str, host: str = DEFAULT_HOST, max_callers: int = 256):
        if not api_key:
            raise ValueError("MEM0_API_KEY is required for MEMORY_BACKEND=mem0")
        self._cls = _service_class()
        self._api_key = api_key
        self._host = (host or DEFAULT_HOST).rstrip("/")
        self._max_callers = max_callers
        self._services: OrderedDict[str, asyncio.Future[Any]] = OrderedDict()

    def _build(self, user_id: str, limit: int) -> Any:
        try:
            return self._cls(
                api_key=self._api_key,
                host=self._host,
                user_id=user_id,
                params=self._cls.InputParams(search_limit=limit),
            )
        except ValueError as exc:  # the client's key check: "Error: <Mem0's detail>"
            raise ValueError(f"Mem0 at {self._host} refused MEM0_API_KEY ({exc})") from exc

    async def _service(self, tenant: str, caller_key: str, limit: int = 5) -> Any:
        user_id = f"{tenant}:{caller_key}"
        pending = self._services.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(self._build, user_id, limit))
            pending.add_done_callback(_retrieved)  # a build nobody waits for any more
            self._services[user_id] = pending
            self._evict()
        self._services.move_to_end(user_id)
        try:
            service = await asyncio.shield(pending)
        except Exception:
            if self._services.get(user_id) is pending:  # the next call tries again
                del self._services[user_id]
            raise
        return service

    def _evict(self) -> None:
        while len(self._services) > self._max_callers:
            _, old = self._services.popitem(last=False)
            old.add_done_callback(_close_service)

    async def recall(self, tenant: str, caller_key: str, query: str, limit: int = 5) -> list[str]:
        """Mem0 search among the caller's memories, best first."""
        if not query.strip():
            return []
        service = await self._service(tenant, caller_key, limit)
        service.search_limit = limit  # Mem0's top_k (the service may have been built by add)
        found = await service._retrieve_memories(query)
        texts = [str(m["memory"]) for m in found if isinstance(m, dict) and m.get("memory")]
        return texts[:limit]

    async def add(
        self, tenant: str, caller_key: str, texts: list[str], source_call_id: str | None = None
    ) -> None:
        """Store the memories as user messages (Mem0 keeps what it finds worth keeping)."""
        if not texts:
            return
        service = await self._service(tenant, caller_key)
        await service._store_messages([{"role": "user", "content": t} for t in texts])

    async def close(self) -> None:
        """Close every caller's HTTP client."""
        services, self._services = list(self._services.values()), OrderedDict()
        for pending in services:
            pending.add_done_callback(_close_service)


def _retrieved(pending: asyncio.Future[Any]) -> None:
    if not pending.cancelled():
        pending.exception()


def _close_service(pending: asyncio.Future[Any]) -> None:
    """Close a built service's HTTP client (a failed build has none)."""
    if pending.cancelled() or pending.exception() is not None:
        return
    try:
        pending.result().memory_client.client.close()
    except Exception as exc:  # closing is best effort
        logger.debug(f"closing a Mem0 client failed: {exc!r}")
