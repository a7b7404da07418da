"""Calls whose process died: their rows are closed by whoever outlived it, never left ``active``.

A worker killed mid-call cannot write the end of its call. The launcher sees the worker's event
stream break (``runner.worker_events``) and ends those calls ``worker_lost``; ``LostCalls``
then closes each row (end time, duration, status) and sends ``call.ended`` with the transcript
stored so far. When the whole host died, its next start sweeps the rows it left ``active``.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from calls.end_reason import EndReason
from config import Settings
from postcall.background import run_in_background
from postcall.finish import finish_call
from storage.base import Storage, now

SWEEP_LIMIT = 1000  # rows swept per start-up (a host never had more live calls)


async def close_lost_call(
    storage: Storage, settings: Settings, call_id: str, reason: EndReason
) -> bool:
    """Close the row of a call whose process is gone, then send ``call.ended``.

    Args:
        storage: The opened storage backend.
        settings: Process settings.
        call_id: The call.
        reason: Why it ended.

    Returns:
        True when the row was still open and is closed now.
    """
    record = await storage.get_call(call_id)
    if record is None or record.status != "active":
        return False  # never written, or the worker closed it before it died
    ended = now()
    begin = record.answered_at or record.started_at
    await storage.update_call(
        call_id,
        ended_at=ended,
        end_reason=reason,
        duration_secs=round(max(0.0, (ended - begin).total_seconds()), 3),
        status="ended",
    )
    logger.warning(f"[{call_id}] closed: {reason}")
    await finish_call(storage, settings, call_id, None, {})
    return True


async def sweep_orphaned_calls(storage: Storage, settings: Settings) -> int:
    """At start-up: close the rows this host left ``active`` (it ran no call before now).

    Args:
        storage: The opened storage backend.
        settings: Process settings (``host_name`` says which rows are this host's).

    Returns:
        How many rows were closed.
    """
    host = settings.host_name
    active = await storage.list_calls(status="active", limit=SWEEP_LIMIT)
    orphans = [r for r in active if r.metadata.get("host") == host]
    closed = 0
    for record in orphans:
        closed += await close_lost_call(storage, settings, record.id, EndReason.WORKER_LOST)
    if closed:
        logger.warning(f"closed {closed} call(s) left active by an earlier run of {host}")
    return closed


class LostCalls:
    """A runner listener: closes the row of every call that ended ``worker_lost``.

    Args:
        storage: The launcher's storage backend.
        settings: Process settings.
    """

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        """Runner event ``kind`` with the call's ``data``."""
        if kind != "ended" or data.get("end_reason") != EndReason.WORKER_LOST:
            return
        call_id = str(data.get("call_id"))
        run_in_background(
            f"close lost call {call_id}",
            lambda: close_lost_call(self._storage, self._settings, call_id, EndReason.WORKER_LOST),
            attempts=3,
        )
