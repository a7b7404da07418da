"""Mem0 through Pipecat's ``Mem0MemoryService`` (the platform API; needs the ``mem0ai`` package).

Only imported when ``MEMORY_BACKEND=mem0``. One service per caller (Mem0 ``user_id`` =
``<tenant>:<caller key>``) is kept; its blocking client calls run in threads, as Pipecat's
service does. We call the service's search and store helpers ourselves rather than placing it
in the pipeline, so recall keeps our per-turn budget and never grows the context.
"""

from __future__ import annotations

import asyncio
from typing import Any

from memory.base import MemoryBackend


class Mem0Memory(MemoryBackend):
    """Memories in Mem0."""

    name = "mem0"

    def __init__(self, api_key: str, host: str | None = None):
        if not api_key:
            raise ValueError("MEM0_API_KEY is required for MEMORY_BACKEND=mem0")
        try:
            from pipecat.services.mem0.memory import Mem0MemoryService
        except Exception as exc:  # pipecat raises when mem0ai is missing
            raise ValueError(
                "MEMORY_BACKEND=mem0 needs the mem0ai package (uv add mem0ai)"
            ) from exc
        self._cls = Mem0MemoryService
        self._api_key = api_key
        self._host = host
        self._services: dict[str, Any] = {}

    async def _service(self, tenant: str, caller_key: str, limit: int = 5) -> Any:
        user_id = f"{tenant}:{caller_key}"
        service = self._services.get(user_id)
        if service is None:  # the client pings the API when built: off the event loop
            service = await asyncio.to_thread(
                lambda: self._cls(
                    api_key=self._api_key,
                    host=self._host,
                    user_id=user_id,
                    params=self._cls.InputParams(search_limit=limit),
                )
            )
            self._services[user_id] = service
        return service

    async def recall(self, tenant: str, caller_key: str, query: str, limit: int = 5) -> list[str]:
        """Mem0 search for the caller."""
        service = await self._service(tenant, caller_key, limit)
        found = await service._retrieve_memories(query)
        return [str(m.get("memory")) for m in found if isinstance(m, dict) and m.get("memory")]

    async def add(
        self, tenant: str, caller_key: str, texts: list[str], source_call_id: str | None = None
    ) -> None:
        """Store the memories as user messages (Mem0 keeps what it finds worth keeping)."""
        service = await self._service(tenant, caller_key)
        await service._store_messages([{"role": "user", "content": t} for t in texts])
