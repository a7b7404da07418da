"""Joining the fleet from settings: nothing without ``REDIS_URL``."""

from __future__ import annotations

from typing import Any

from config import Settings
from fleet.host import FleetHost
from fleet.registry import FleetRegistry


class FleetConfigError(ValueError):
    """The fleet settings cannot work together."""


def fleet_from_settings(settings: Settings, runner: Any) -> tuple[FleetRegistry, FleetHost] | None:
    """The registry (admission) and this host's membership, or None when there is no fleet.

    Raises:
        FleetConfigError: ``REDIS_URL`` without ``MEDIA_TOKEN_SECRET`` (a stream admitted by
            one launcher must be accepted by another host).
    """
    if not settings.redis_url:
        return None
    secret = settings.media_token_secret
    if secret is None or not secret.get_secret_value():
        raise FleetConfigError(
            "REDIS_URL is set but MEDIA_TOKEN_SECRET is not: every host of a fleet must check "
            "the media tokens every other launcher issues; set the same MEDIA_TOKEN_SECRET on all"
        )
    import redis.asyncio as aioredis  # only fleets need the client

    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    host_id = settings.host_name
    registry = FleetRegistry(client, reservation_secs=settings.media_token_ttl_secs)
    host = FleetHost(
        client,
        host_id,
        settings.public_url.rstrip("/"),
        settings.max_concurrent_calls,
        runner,
        settings.fleet_heartbeat_secs,
        settings.fleet_host_ttl_secs,
    )
    return registry, host
