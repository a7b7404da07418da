"""Per-client limits on the public call routes, so one client cannot take every line.

Each client (its address as the launcher sees it: behind a proxy, the forwarded one uvicorn
trusts) gets a token bucket of requests per minute on ``/api/offer`` and the phone webhooks,
and at most ``max_calls`` browser calls at once. A refusal is ``429`` with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request

_MAX_CLIENTS = 10_000  # buckets kept; full ones are forgotten first


class RateLimit:
    """A token bucket per client: ``per_minute`` requests a minute, bursts up to the same."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str) -> float:
        """Spend one request for ``client``; 0 if allowed, else seconds until the next one."""
        if self.per_minute <= 0:
            return 0.0
        now, rate = self._clock(), self.per_minute / 60.0
        tokens, at = self._buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > _MAX_CLIENTS:
            self._forget_full(now, rate)
        return 0.0

    def _forget_full(self, now: float, rate: float) -> None:
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * rate >= self.per_minute:
                del self._buckets[client]
        while len(self._buckets) > _MAX_CLIENTS:  # all busy: drop the oldest
            del self._buckets[next(iter(self._buckets))]


def client_of(request: Request) -> str:
    """The client's address (``"unknown"`` when the server could not tell)."""
    return request.client.host if request.client else "unknown"


def too_many(detail: str, retry_after: float) -> HTTPException:
    """A ``429`` with a whole-second ``Retry-After``."""
    return HTTPException(
        status_code=429,
        detail=detail,
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


def check_rate(limit: RateLimit, request: Request) -> None:
    """Spend one of the client's requests.

    Raises:
        HTTPException: 429 with ``Retry-After`` when the client is over its rate.
    """
    wait = limit.take(client_of(request))
    if wait > 0:
        raise too_many(f"too many requests: at most {limit.per_minute} a minute", wait)


def check_calls(live: int, max_calls: int) -> None:
    """Refuse another browser call to a client that already has ``max_calls`` running.

    Raises:
        HTTPException: 429 with ``Retry-After``.
    """
    if 0 < max_calls <= live:
        raise too_many(f"too many calls at once from this client (at most {max_calls})", 10)


class ClientLimits:
    """The launcher's per-client limits (``CLIENT_...`` settings; 0 turns one off)."""

    def __init__(self, offers_per_minute: int, max_calls: int, webhooks_per_minute: int):
        self.offers = RateLimit(offers_per_minute)
        self.webhooks = RateLimit(webhooks_per_minute)
        self.max_calls = max_calls
        self._starting: dict[str, int] = {}

    @contextmanager
    def starting_call(self, client: str, live: int) -> Iterator[None]:
        """Hold one of ``client``'s call places while its call starts.

        Args:
            client: The client's address.
            live: Its calls running now.

        Raises:
            HTTPException: 429 when the client already has ``max_calls`` running or starting.
        """
        check_calls(live + self._starting.get(client, 0), self.max_calls)
        self._starting[client] = self._starting.get(client, 0) + 1
        try:
            yield
        finally:
            left = self._starting.pop(client) - 1
            if left:
                self._starting[client] = left


async def limit_webhooks(request: Request) -> None:
    """FastAPI dependency: the phone webhooks' per-client rate.

    Raises:
        HTTPException: 429 with ``Retry-After``.
    """
    check_rate(request.app.state.client_limits.webhooks, request)
