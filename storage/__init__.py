"""Storage: one async interface (``storage.base.Storage``), SQLite by default, Supabase in prod.

``open_storage(settings)`` picks the backend from ``STORAGE_BACKEND``; the caller awaits
``open()`` once at start-up and ``close()`` at exit.
"""

from __future__ import annotations

from config import Settings
from storage.base import (
    AgentConfig,
    Appointment,
    Callback,
    CallRecord,
    Memory,
    Message,
    OutboxEvent,
    Recording,
    Storage,
    TranscriptTurn,
    TurnMetrics,
)

__all__ = [
    "AgentConfig",
    "Appointment",
    "CallRecord",
    "Callback",
    "Memory",
    "Message",
    "OutboxEvent",
    "Recording",
    "Storage",
    "TranscriptTurn",
    "TurnMetrics",
    "open_storage",
]


def open_storage(settings: Settings) -> Storage:
    """The configured backend (not yet opened)."""
    if settings.storage_backend == "supabase":
        from storage.supabase import SupabaseStorage

        return SupabaseStorage(settings)
    from storage.sqlite import SQLiteStorage

    return SQLiteStorage(settings.sqlite_file)
