"""Supermemory over its HTTP API (v3): ``POST /v3/memories`` to add, ``POST /v3/search`` to recall.

Each caller gets one container tag (``<tenant>_<caller key>``, reduced to the characters
Supermemory accepts), so one caller's memories are never searched for another.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from memory.base import MemoryBackend

DEFAULT_BASE_URL = "https://api.supermemory.ai"
_TAG_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def container_tag(tenant: str, caller_key: str) -> str:
    """The one container tag holding a caller's memories."""
    return _TAG_CHARS.sub("_", f"{tenant}_{caller_key}")[:100]


class SupermemoryMemory(MemoryBackend):
    """Memories in Supermemory (Bearer API key; ``base_url`` overridable for tests/regions)."""

    name = "supermemory"

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 5.0):
        if not api_key:
            raise ValueError("SUPERMEMORY_API_KEY is required for MEMORY_BACKEND=supermemory")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._client().post(f"{self._base_url}{path}", json=body) as resp:
            if resp.status >= 400:
                text = (await resp.text())[:200]
                raise RuntimeError(f"Supermemory {path} answered {resp.status}: {text}")
            data = await resp.json()
            return data if isinstance(data, dict) else {}

    async def recall(self, tenant: str, caller_key: str, query: str, limit: int = 5) -> list[str]:
        """Document search in the caller's container; the best chunk of each result."""
        body = {
            "q": query or "about the caller",
            "containerTags": [container_tag(tenant, caller_key)],
            "limit": limit,
        }
        data = await self._post("/v3/search", body)
        texts: list[str] = []
        for result in data.get("results") or []:
            chunks = [c for c in result.get("chunks") or [] if isinstance(c, dict)]
            best = max(chunks, key=lambda c: c.get("score") or 0, default=None)
            text = (best or {}).get("content") or result.get("content") or result.get("title")
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
        return texts[:limit]

    async def add(
        self, tenant: str, caller_key: str, texts: list[str], source_call_id: str | None = None
    ) -> None:
        """One Supermemory document per memory, tagged with the caller's container."""
        for text in texts:
            body: dict[str, Any] = {
                "content": text,
                "containerTags": [container_tag(tenant, caller_key)],
                "metadata": {"source": "switchboard", "call_id": source_call_id or ""},
            }
            await self._post("/v3/memories", body)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
