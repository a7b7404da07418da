"""The outbox delivery worker: POST due events, retry with backoff, give up after N attempts.

It runs in every launcher process and only reads the outbox, so events enqueued by a process
that stopped or died are delivered by the next one (at least once: receivers dedup on the id).
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta

import httpx
from loguru import logger

from config import Settings
from storage.base import OutboxEvent, Storage, now
from webhooks.signing import headers

_BATCH = 50
_PARALLEL = 8


def backoff_secs(failed_attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after ``failed_attempts`` failures (doubling, capped).

    Up to 25 % of jitter is added so that many events failing together do not retry together.
    """
    delay = min(cap, base * 2 ** max(0, failed_attempts - 1))
    return delay + random.uniform(0, delay * 0.25)


def body_bytes(event: OutboxEvent) -> bytes:
    """The exact bytes sent (and signed) for an event."""
    return json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode()


class DeliveryWorker:
    """Polls ``due_events`` and delivers them; one per launcher process.

    Args:
        storage: The opened storage backend.
        settings: ``WEBHOOK_*`` settings.
        client: HTTP client (one is created when omitted).
    """

    def __init__(
        self, storage: Storage, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._client = client
        self._own_client = client is None
        self._secret = (
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        )
        self._parallel = asyncio.Semaphore(_PARALLEL)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the polling loop in the background."""
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        if not self._secret and self._settings.webhook_urls:
            logger.warning("WEBHOOK_SECRET is empty: webhook events are sent unsigned")
        self._task = asyncio.create_task(self._loop(), name="webhook-delivery")

    async def stop(self) -> None:
        """Stop polling (events in flight stay pending and are retried by the next process)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while True:
            try:
                delivered = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # storage hiccup: keep the worker alive
                logger.warning(f"webhook delivery loop: {exc!r}")
                delivered = 0
            if delivered < _BATCH:
                await asyncio.sleep(self._settings.webhook_poll_secs)

    async def deliver_due(self, at: datetime | None = None) -> int:
        """Attempt every event due at ``at`` (now); return how many were attempted."""
        events = await self._storage.due_events(at or now(), limit=_BATCH)
        if events:
            await asyncio.gather(*(self._attempt(e) for e in events))
        return len(events)

    async def _attempt(self, event: OutboxEvent) -> None:
        async with self._parallel:
            error = await self._post(event)
        if error is None:
            await self._storage.mark_delivered(event.id)
            logger.info(f"webhook {event.type} {event.id} delivered")
            return
        failed = event.attempts + 1
        settings = self._settings
        next_at: datetime | None = None
        if failed < settings.webhook_max_attempts:
            delay = backoff_secs(
                failed, settings.webhook_backoff_secs, settings.webhook_backoff_max_secs
            )
            next_at = now() + timedelta(seconds=delay)
        await self._storage.mark_attempt_failed(event.id, error, next_at)
        if next_at is None:
            logger.error(f"webhook {event.type} {event.id} failed {failed} times, gave up: {error}")
        else:
            logger.warning(f"webhook {event.type} {event.id} attempt {failed} failed: {error}")

    async def _post(self, event: OutboxEvent) -> str | None:
        """POST one event; None on a 2xx answer, else what went wrong."""
        assert self._client is not None, "start() the worker first"
        body = body_bytes(event)
        try:
            response = await self._client.post(
                event.url,
                content=body,
                headers=headers(event.id, body, self._secret),
                timeout=self._settings.webhook_timeout_secs,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
