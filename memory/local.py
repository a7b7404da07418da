"""Local memory: the storage backend's own full-text search (SQLite FTS5/BM25 by default).

No extra dependency and no network hop: recall is one indexed query in the launcher's database.
"""

from __future__ import annotations

from memory.base import MemoryBackend
from storage import Memory, Storage


class LocalMemory(MemoryBackend):
    """Memories as rows of the ``memories`` table, searched with ``Storage.search_memories``."""

    name = "local"

    def __init__(self, storage: Storage):
        self.storage = storage

    async def recall(self, tenant: str, caller_key: str, query: str, limit: int = 5) -> list[str]:
        """Full-text rank over the caller's memories (recent ones when nothing matches)."""
        found = await self.storage.search_memories(tenant, caller_key, query, limit)
        return [m.text for m in found]

    async def add(
        self, tenant: str, caller_key: str, texts: list[str], source_call_id: str | None = None
    ) -> None:
        """One ``Memory`` row per text."""
        for text in texts:
            await self.storage.add_memory(
                Memory(
                    tenant=tenant, caller_key=caller_key, text=text, source_call_id=source_call_id
                )
            )
