"""The call events receivers get, and their payloads, in one place.

Every event is about one call: ``call.started`` (``{"call"}``), ``call.ended`` (``{"call",
"transcript", "outcome"}``) and ``recording.ready`` (the ``recordings`` row). They are queued
through :func:`emit_call_event`, which stores one outbox row per destination
(:func:`webhooks.outbox.enqueue`); the delivery worker sends them.
"""

from __future__ import annotations

from typing import Any

from config import Settings
from storage.base import CallRecord, OutboxEvent, Recording, Storage, TranscriptTurn
from webhooks.outbox import CallEvent, enqueue


def transcript_data(turns: list[TranscriptTurn]) -> list[dict[str, Any]]:
    """Transcript turns as webhook data."""
    return [t.model_dump(mode="json", exclude={"call_id"}) for t in turns]


def call_started_data(record: CallRecord) -> dict[str, Any]:
    """The ``call.started`` payload: the new call's row."""
    return {"call": record.model_dump(mode="json")}


def call_ended_data(record: CallRecord, turns: list[TranscriptTurn]) -> dict[str, Any]:
    """The ``call.ended`` payload: the row, its transcript and its analysis (or null)."""
    return {
        "call": record.model_dump(mode="json", exclude={"analysis"}),
        "transcript": transcript_data(turns),
        "outcome": record.analysis,
    }


def recording_ready_data(recording: Recording) -> dict[str, Any]:
    """The ``recording.ready`` payload: the ``recordings`` row."""
    return recording.model_dump(mode="json")


async def emit_call_event(
    storage: Storage,
    settings: Settings,
    type: CallEvent,  # noqa: A002 - the event's "type", as receivers see it
    *,
    tenant: str,
    persona: str,
    call_id: str,
    data: dict[str, Any],
) -> list[OutboxEvent]:
    """Queue one call event for every destination of the call's tenant.

    Args:
        storage: The opened storage backend.
        settings: Process settings (``WEBHOOK_URLS``).
        type: ``call.started``, ``call.ended`` or ``recording.ready``.
        tenant: The call's tenant (adds the tenant's URLs).
        persona: The call's persona (the tenant's row is per persona).
        call_id: The call (deleting a caller deletes its events).
        data: The payload, from one of the ``*_data`` builders above.

    Returns:
        The stored events (none when no URL is configured).
    """
    return await enqueue(
        storage, settings, tenant=tenant, persona=persona, call_id=call_id, type=type, data=data
    )
