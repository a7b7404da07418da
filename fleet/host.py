"""This host's place in the fleet: it publishes its free slots and takes its admitted calls.

Every ``FLEET_HEARTBEAT_SECS`` the host writes its public URL, capacity, active calls and
whether it drains, with a TTL of ``FLEET_HOST_TTL_SECS``: if the host dies, its entry lapses
within that time and no launcher sends it calls. When an admitted call starts here its
reservation is dropped and ``active`` raised at once, so no slot is counted twice or freed
early. On a clean exit the entry is removed immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loguru import logger

from fleet.live_calls import LiveCalls, calls_key
from fleet.registry import HOSTS, host_key, reservations_key


class FleetHost:
    """Publishes one host's capacity (``runner``: its ``CallRunner``).

    Args:
        redis: A ``redis.asyncio.Redis`` client (``decode_responses=True``).
        host_id: This host's name in the fleet.
        url: Its public base URL.
        capacity: Calls it takes at once (``MAX_CONCURRENT_CALLS``).
        runner: Reports active calls and draining; told of calls that start here.
        beat_secs: Seconds between heartbeats.
        ttl_secs: Seconds without a heartbeat before the host drops out.
    """

    def __init__(
        self,
        redis: Any,
        host_id: str,
        url: str,
        capacity: int,
        runner: Any,
        beat_secs: float,
        ttl_secs: float,
    ):
        self._redis = redis
        self.host_id = host_id
        self._url = url
        self._capacity = capacity
        self._runner = runner
        self._beat_secs = beat_secs
        self._ttl_ms = int(ttl_secs * 1000)
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._live = LiveCalls(redis)

    async def start(self) -> None:
        """Join the fleet now (first heartbeat) and keep beating in the background."""
        self._runner.add_listener(self._on_call)
        await self.beat()
        self._task = asyncio.create_task(self._beat_forever())
        logger.info(f"fleet: host {self.host_id} ({self._url}) joined, {self._capacity} slots")

    async def beat(self) -> None:
        """Publish this host's state once."""
        state = {
            "url": self._url,
            "capacity": self._capacity,
            "active": self._runner.active_count(),
            "draining": int(self._runner.draining),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(host_key(self.host_id), mapping=state)
            pipe.pexpire(host_key(self.host_id), self._ttl_ms)
            pipe.sadd(HOSTS, self.host_id)
            await pipe.execute()

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._beat_secs)
            try:
                await self.beat()
            except Exception as exc:  # Redis away: keep serving this host's calls, retry
                logger.warning(f"fleet: heartbeat failed ({type(exc).__name__}: {exc})")

    def _on_call(self, kind: str, data: dict[str, Any]) -> None:
        call_id = str(data.get("call_id") or "")
        if not call_id or kind not in ("started", "ended"):
            return
        work = self._took(call_id, data) if kind == "started" else self._ended(call_id)
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _took(self, call_id: str, summary: dict[str, Any]) -> None:
        """An admitted call started here: its reservation becomes an active call.

        The call is also listed under this host (``fleet.live_calls``), so that if the host dies
        mid-call another one can take the call over.
        """
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(reservations_key(self.host_id), call_id)
                pipe.hset(host_key(self.host_id), "active", self._runner.active_count())
                await pipe.execute()
            await self._live.started(self.host_id, call_id, summary)
        except Exception as exc:
            logger.warning(f"fleet: could not record {call_id} ({type(exc).__name__})")

    async def _ended(self, call_id: str) -> None:
        try:
            await self._live.ended(self.host_id, call_id)
        except Exception as exc:
            logger.warning(f"fleet: could not record the end of {call_id} ({type(exc).__name__})")

    async def leave(self) -> None:
        """Stop beating and leave the fleet at once (clean exit)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.srem(HOSTS, self.host_id)
                # Its calls ended in the drain: nothing of this host is left to take over.
                pipe.delete(
                    host_key(self.host_id), reservations_key(self.host_id), calls_key(self.host_id)
                )
                await pipe.execute()
