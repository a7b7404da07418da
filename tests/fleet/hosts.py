"""A host of a test fleet: a real launcher (``server.py``) on one shared Redis."""

from __future__ import annotations

from typing import Any

SECRET = "one-secret-for-the-whole-fleet-0123456789"  # MEDIA_TOKEN_SECRET of every host


def fleet_host(launcher_factory: Any, redis_url: str, host_id: str, slots: int, **env: str) -> Any:
    """Start host ``host_id`` with ``slots`` calls, beating every 0.5 s (``env``: more settings)."""
    return launcher_factory(
        REDIS_URL=redis_url,
        HOST_ID=host_id,
        MAX_CONCURRENT_CALLS=str(slots),
        MEDIA_TOKEN_SECRET=SECRET,
        **{"FLEET_HEARTBEAT_SECS": "0.5", **env},
    )
