"""One-use media tokens across a fleet: the first host to see a token claims it in Redis.

Each process already refuses a token it has seen (``launcher.media_tokens``); in a fleet a
captured token could otherwise be replayed against another host within its lifetime. The
claim is ``SET sb:tok:<hash> NX`` with the token's TTL. If Redis cannot be reached the claim
is skipped (logged): the host's own record and the token's signature and expiry still hold.
"""

from __future__ import annotations

import hashlib
from typing import Any

from loguru import logger

from config import Settings


class FleetTokenUses:
    """Claims tokens in the fleet's Redis (``redis``: a ``redis.asyncio.Redis`` client)."""

    def __init__(self, redis: Any, ttl_secs: int):
        self._redis = redis
        self._ttl = ttl_secs

    async def claim(self, token: str) -> bool:
        """True the first time any host claims ``token``; False for a replay."""
        key = "sb:tok:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        try:
            return bool(await self._redis.set(key, "1", nx=True, ex=self._ttl))
        except Exception as exc:
            logger.warning(f"fleet token claim skipped ({type(exc).__name__}: {exc})")
            return True


def fleet_token_uses(settings: Settings) -> FleetTokenUses | None:
    """The fleet-wide token record, or None without ``REDIS_URL``."""
    if not settings.redis_url:
        return None
    import redis.asyncio as aioredis  # only fleets need the client

    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    return FleetTokenUses(client, settings.media_token_ttl_secs)
