"""Which calls each host is running, kept in Redis so they outlive the host.

* ``sb:calls:<host id>``: hash call id → JSON (persona, transport, tenant, numbers, the
  carrier's call id, the room's name for LiveKit and Daily calls). A host adds a call when it
  starts and removes it when it ends; the hash has no TTL, so when a host dies mid-call its
  entries are still there. A room's name is all a rescuer needs: the new host asks the room's
  provider for a token (and Daily for the room's URL).

A host whose heartbeat key (``sb:host:<id>``) has lapsed but whose calls hash is not empty died
with calls on it. :func:`claim_orphans` hands those calls to exactly one claimant: the Lua
script checks the heartbeat and empties the hash in one step, so two launchers never rescue the
same call twice.
"""

from __future__ import annotations

import json
from typing import Any

from fleet.registry import host_key

CALLS_PREFIX = "sb:calls:"
# Fields of a call summary (``ActiveCall.summary()``) a rescuer needs.
FIELDS = (
    "persona",
    "transport",
    "tenant",
    "caller_number",
    "called_number",
    "provider_call_id",
    "room",
)


def calls_key(host_id: str) -> str:
    """The hash of calls ``host_id`` runs."""
    return f"{CALLS_PREFIX}{host_id}"


# KEYS[1]: the dead host's heartbeat key, KEYS[2]: its calls hash. Returns the hash's
# field/value list (empty: nothing to claim, or the host is alive).
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local calls = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
return calls
"""


def call_entry(summary: dict[str, Any]) -> str:
    """The JSON a host stores for one of its calls."""
    return json.dumps({k: summary.get(k) for k in FIELDS})


class LiveCalls:
    """The fleet's record of running calls (``redis``: ``redis.asyncio.Redis``, decoded)."""

    def __init__(self, redis: Any):
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)

    async def started(self, host_id: str, call_id: str, summary: dict[str, Any]) -> None:
        """Record that ``host_id`` runs ``call_id``."""
        await self._redis.hset(calls_key(host_id), call_id, call_entry(summary))

    async def ended(self, host_id: str, call_id: str) -> None:
        """Forget a call that ended on ``host_id``."""
        await self._redis.hdel(calls_key(host_id), call_id)

    async def claim_orphans(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Take the calls of every host that died with calls on it.

        Returns:
            Dead host id → call id → its entry; each call is returned to one caller only.
        """
        claimed: dict[str, dict[str, dict[str, Any]]] = {}
        async for key in self._redis.scan_iter(match=f"{CALLS_PREFIX}*", count=100):
            host_id = str(key)[len(CALLS_PREFIX) :]
            flat = await self._claim(keys=[host_key(host_id), str(key)])
            if flat:
                pairs = zip(flat[::2], flat[1::2], strict=True)
                claimed[host_id] = {str(k): json.loads(v) for k, v in pairs}
        return claimed
