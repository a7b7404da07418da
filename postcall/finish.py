"""After a call: wait for its writes, analyse it, then send ``call.ended``.

``call.ended`` is enqueued once the analysis has finished, failed for good, or run past
``ANALYSIS_TIMEOUT_SECS``; its ``outcome`` is then the stored analysis, or null.
"""

from __future__ import annotations

import asyncio

from loguru import logger

from config import Settings
from postcall.analysis import analyse_call
from postcall.background import run_in_background
from providers.json_pass import ATTEMPTS
from storage.base import Storage
from storage.call_writer import CallWriter
from webhooks.events import call_ended_data, emit_call_event


async def _analysed(
    storage: Storage, settings: Settings, call_id: str, fields: dict[str, str]
) -> None:
    """Run the analysis (retried) unless it is stored already; wait up to the timeout."""
    record = await storage.get_call(call_id)
    if record is None or record.analysis is not None or not settings.analysis_enabled:
        return
    job = run_in_background(
        f"analysis {call_id}",
        lambda: analyse_call(storage, settings, call_id, fields),
        attempts=ATTEMPTS,
    )
    _, pending = await asyncio.wait({job}, timeout=settings.analysis_timeout_secs)
    if pending:
        logger.warning(f"[{call_id}] analysis still running; call.ended goes without it")


async def finish_call(
    storage: Storage,
    settings: Settings,
    call_id: str,
    writer: CallWriter | None,
    fields: dict[str, str],
) -> None:
    """The post-call job (run with ``run_in_background``; safe to retry).

    Args:
        storage: The opened storage backend.
        settings: Process settings.
        call_id: The call that ended.
        writer: The call's writer (its last writes land before anything reads them); None
            when the process that ran the call is gone.
        fields: The persona's extra analysis fields.
    """
    if writer is not None:
        await writer.drain()
    await _analysed(storage, settings, call_id, fields)
    record = await storage.get_call(call_id)
    if record is None:
        raise LookupError(f"call {call_id} is not stored")
    turns = await storage.list_turns(call_id)
    await emit_call_event(
        storage,
        settings,
        "call.ended",
        tenant=record.tenant,
        persona=record.persona,
        call_id=call_id,
        data=call_ended_data(record, turns),
    )
