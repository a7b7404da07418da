"""The fleet registry in Redis: which hosts exist, their free slots, and atomic admission.

Layout (one Redis, no cluster: the admission script reads keys it cannot declare up front):

* ``sb:hosts``: set of host ids.
* ``sb:host:<id>``: hash ``url``, ``capacity``, ``active``, ``draining`` (``0``/``1``), written
  by the host every heartbeat with a TTL of a few beats: a host that stops beating expires and
  is out of the fleet, its slots with it.
* ``sb:resv:<id>``: sorted set of call ids admitted to the host but not started there yet,
  scored by when the reservation lapses (a caller that never connects frees the slot).

Admission runs as one Lua script, so it is atomic across every launcher: it picks the host with
the most free slots (capacity − active − pending reservations, draining hosts skipped) and
reserves one there. Two launchers can never over-fill a host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HOSTS = "sb:hosts"


def host_key(host_id: str) -> str:
    """The hash a host publishes."""
    return f"sb:host:{host_id}"


def reservations_key(host_id: str) -> str:
    """The sorted set of calls admitted to a host that have not started there yet."""
    return f"sb:resv:{host_id}"


# KEYS[1]: the hosts set. ARGV: reservation ttl (ms), call id. Returns {host id, url} or nil.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local best, best_free, best_url = nil, 0, nil
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HMGET', 'sb:host:' .. id, 'capacity', 'active', 'draining', 'url')
  if not h[1] then
    redis.call('SREM', KEYS[1], id)
  elseif h[3] ~= '1' then
    local resv = 'sb:resv:' .. id
    redis.call('ZREMRANGEBYSCORE', resv, '-inf', now)
    local free = tonumber(h[1]) - tonumber(h[2]) - redis.call('ZCARD', resv)
    if free > best_free or (free == best_free and best ~= nil and id < best) then
      best, best_free, best_url = id, free, h[4]
    end
  end
end
if not best then return nil end
redis.call('ZADD', 'sb:resv:' .. best, now + ttl, ARGV[2])
redis.call('PEXPIRE', 'sb:resv:' .. best, ttl * 2)
return {best, best_url}
"""


@dataclass(frozen=True)
class HostSlot:
    """A slot reserved for one call on one host."""

    host_id: str
    url: str  # the host's public base URL (where the call's media must go)


class FleetRegistry:
    """Admission across the fleet.

    Args:
        redis: A ``redis.asyncio.Redis`` client (``decode_responses=True``).
        reservation_secs: How long an admitted call may take to reach its host.
    """

    def __init__(self, redis: Any, reservation_secs: float):
        self._redis = redis
        self.client = redis  # the fleet's Redis, for the other parts of the fleet
        self._ttl_ms = int(reservation_secs * 1000)
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, call_id: str) -> HostSlot | None:
        """Reserve a slot for ``call_id`` on the host with the most room (None: fleet full)."""
        picked = await self._reserve(keys=[HOSTS], args=[self._ttl_ms, call_id])
        return HostSlot(str(picked[0]), str(picked[1])) if picked else None

    async def hosts(self) -> list[dict[str, Any]]:
        """Every live host's published state, with its pending reservations."""
        out = []
        for host_id in sorted(await self._redis.smembers(HOSTS)):
            state = await self._redis.hgetall(host_key(host_id))
            if state:
                pending = await self._redis.zcard(reservations_key(host_id))
                out.append({"host_id": host_id, **state, "pending": pending})
        return out
