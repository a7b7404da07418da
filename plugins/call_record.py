"""The ``calls`` row of each call: created at start, answered, ended; ``call.started`` event.

When the call ends, the post-call job (``postcall.finish``) runs in the background: it waits
for the call's pending writes, runs the analysis and then sends ``call.ended``. Nothing here
runs on the audio path; every write goes through the call's :class:`CallWriter`.
"""

from __future__ import annotations

import asyncio

from assembly.call import Call, CallPlugin
from calls.end_reason import EndReason
from config import Settings
from plugins.call_writer import writer_for
from postcall.background import run_in_background
from postcall.finish import finish_call
from storage.base import CallRecord, Storage, now
from webhooks.events import call_started_data, emit_call_event


def call_record(call: Call, host: str = "") -> CallRecord:
    """The row a new call starts with (``metadata.host``: the host running it, if known)."""
    ctx = call.ctx
    return CallRecord(
        id=ctx.call_id,
        tenant=ctx.tenant,
        persona=ctx.persona,
        transport=str(ctx.transport),
        room=ctx.room,
        caller_number=ctx.caller_number,
        called_number=ctx.called_number,
        caller_key=ctx.caller_key,
        metadata={
            **ctx.metadata,
            **({"provider_call_id": ctx.provider_call_id} if ctx.provider_call_id else {}),
            **({"host": host} if host else {}),
        },
    )


def moved_record(earlier: CallRecord, host: str) -> CallRecord:
    """The row of a call that moved to ``host``: every host that ran it, in order."""
    hosts = list(earlier.metadata.get("hosts") or [earlier.metadata.get("host") or "?"])
    metadata = {**earlier.metadata, "host": host, "hosts": [*hosts, host]}
    return earlier.model_copy(update={"metadata": metadata, "status": "active"})


class CallRecordPlugin(CallPlugin):
    """Keeps the ``calls`` row in step with the call and starts the post-call job."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._records: dict[str, CallRecord] = {}

    async def attach(self, call: Call) -> None:
        """Create the row and queue ``call.started``; watch for the caller to connect.

        A call moved here from a host that died (``resumed_from``) keeps its row: this host is
        added to ``metadata.hosts`` and no second ``call.started`` is sent.
        """
        record = call_record(call, self._settings.host_name)
        call_id = record.id
        writer = writer_for(call)
        storage, settings = self._storage, self._settings
        resumed_from = call.ctx.metadata.get("resumed_from")
        earlier = await storage.get_call(call_id) if resumed_from else None
        if earlier is not None:
            record = moved_record(earlier, self._settings.host_name)
            self._records[call_id] = record
            moved = {"metadata": record.metadata, "status": "active"}
            writer.submit("moved call", lambda: storage.update_call(call_id, **moved))
            if record.answered_at is None:
                self._watchers[call_id] = asyncio.create_task(self._answered(call))
            return
        self._records[call_id] = record

        async def started() -> None:
            await emit_call_event(
                storage,
                settings,
                "call.started",
                tenant=record.tenant,
                persona=record.persona,
                call_id=call_id,
                data=call_started_data(record),
            )

        writer.submit("create call", lambda: storage.create_call(record))
        writer.submit("call.started", started)
        self._watchers[call_id] = asyncio.create_task(self._answered(call))

    async def _answered(self, call: Call) -> None:
        await call.connected.wait()
        answered = now()
        record = self._records.get(call.ctx.call_id)
        if record is not None:
            record.answered_at = answered
        writer_for(call).submit(
            "answered", lambda: self._storage.update_call(call.ctx.call_id, answered_at=answered)
        )

    async def detach(self, call: Call) -> None:
        """Write the end of the call, then hand over to the background post-call job."""
        call_id = call.ctx.call_id
        watcher = self._watchers.pop(call_id, None)
        if watcher is not None:
            watcher.cancel()
        record = self._records.pop(call_id, None) or call_record(call)
        ended = now()
        begin = record.answered_at or record.started_at
        fields = {
            "ended_at": ended,
            "end_reason": call.end_reason or EndReason.COMPLETED,
            "duration_secs": round(max(0.0, (ended - begin).total_seconds()), 3),
            "status": "ended",
        }
        if call.failovers:  # provider switches (plugins/failovers.py)
            fields["metadata"] = {**record.metadata, "failovers": list(call.failovers)}
        writer = writer_for(call)
        writer.submit("end call", lambda: self._storage.update_call(call_id, **fields))
        storage, settings = self._storage, self._settings
        fields_wanted = dict(call.persona.analysis_fields)
        run_in_background(
            f"post-call {call_id}",
            lambda: finish_call(storage, settings, call_id, writer, fields_wanted),
            attempts=3,
        )
