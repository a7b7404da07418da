"""Caller memory: recall before each LLM turn, extraction after the call, behind one interface.

``memory_backend(settings, storage)`` picks the backend from ``MEMORY_BACKEND``:
``local`` (default; the storage backend's full-text search, no extra dependency),
``supermemory`` (HTTP API) or ``mem0`` (Pipecat's Mem0 service; needs the ``mem0`` extra,
imported only when chosen).
"""

from __future__ import annotations

from config import Settings
from memory.base import MemoryBackend
from storage import Storage

__all__ = ["MemoryBackend", "memory_backend"]


def memory_backend(settings: Settings, storage: Storage) -> MemoryBackend:
    """The configured backend.

    Raises:
        ValueError: A remote backend is chosen without its API key.
    """
    if settings.memory_backend == "supermemory":
        from memory.supermemory import SupermemoryMemory

        key = settings.supermemory_api_key
        return SupermemoryMemory(
            key.get_secret_value() if key else "", settings.supermemory_base_url
        )
    if settings.memory_backend == "mem0":
        from memory.mem0 import Mem0Memory

        key = settings.mem0_api_key
        return Mem0Memory(key.get_secret_value() if key else "", settings.mem0_base_url)
    from memory.local import LocalMemory

    return LocalMemory(storage)
