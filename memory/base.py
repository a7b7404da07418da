"""The memory contract: one interface every memory backend implements.

A backend remembers short facts about a caller (``tenant`` + ``caller_key``: the user id from
the call metadata, else the phone number) and recalls the ones relevant to what they just said.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class MemoryBackend(ABC):
    """Where a caller's memories live (local SQLite FTS5, Supermemory, Mem0)."""

    name: str = "memory"

    @abstractmethod
    async def recall(self, tenant: str, caller_key: str, query: str, limit: int = 5) -> list[str]:
        """The caller's memories most relevant to ``query``, best first.

        Args:
            tenant: Whose configuration the call runs under.
            caller_key: Who the caller is.
            query: What the caller just said.
            limit: At most this many memories.

        Returns:
            Memory texts (may be empty).
        """

    @abstractmethod
    async def add(
        self, tenant: str, caller_key: str, texts: list[str], source_call_id: str | None = None
    ) -> None:
        """Remember ``texts`` about the caller (one memory per text)."""

    async def close(self) -> None:
        """Release connections (default: nothing to release)."""
        return None
