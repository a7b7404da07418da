"""Enqueue webhook events: one durable outbox row per destination URL, written before sending.

The body a receiver gets is ``{"id", "type", "created_at", "data"}``; ``id`` is the outbox row's
id, so a retried delivery carries the same id and receivers dedup on it.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from loguru import logger

from config import Settings
from storage.base import OutboxEvent, Storage, new_id, now

CallEvent = Literal["call.started", "call.ended", "recording.ready"]
EVENT_TYPES: tuple[str, ...] = get_args(CallEvent)


async def webhook_urls(
    storage: Storage, settings: Settings, tenant: str, persona: str
) -> list[str]:
    """Where a tenant's events go: ``WEBHOOK_URLS`` plus the tenant's ``webhook_urls``."""
    urls = list(settings.webhook_urls)
    config = await storage.get_agent_config(tenant, persona)
    if config is not None:
        urls += [u for u in config.webhook_urls if u not in urls]
    return [u for u in urls if u.startswith(("http://", "https://"))]


async def enqueue(
    storage: Storage,
    settings: Settings,
    *,
    tenant: str,
    persona: str,
    call_id: str | None,
    type: str,  # noqa: A002 - the event's "type", as receivers see it
    data: dict[str, Any],
) -> list[OutboxEvent]:
    """Store one pending event per destination; the delivery worker sends them.

    Args:
        storage: The opened storage backend.
        settings: Process settings (``WEBHOOK_URLS``).
        tenant: Whose event it is (adds the tenant's URLs).
        persona: The call's persona (the tenant's row is per persona).
        call_id: The call the event is about (deleting a caller deletes its events).
        type: ``call.started``, ``call.ended`` or ``recording.ready``.
        data: The event's payload (JSON-ready).

    Returns:
        The stored events (none when no URL is configured).
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    events = []
    for url in await webhook_urls(storage, settings, tenant, persona):
        event_id = new_id("evt")
        created = now()
        body = {"id": event_id, "type": type, "created_at": created.isoformat(), "data": data}
        event = OutboxEvent(
            id=event_id,
            tenant=tenant,
            call_id=call_id,
            type=type,
            url=url,
            payload=body,
            created_at=created,
        )
        await storage.enqueue_event(event)
        events.append(event)
    if events:
        logger.debug(f"webhook {type}: {len(events)} event(s) queued")
    return events
