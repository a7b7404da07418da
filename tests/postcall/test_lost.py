"""Calls whose process died are closed honestly: ``worker_lost``, a duration, ``call.ended``.

Incidents (issue 15): kill -9 of a worker with a live call left the call's row ``active`` with no
end time, even after a restart, and the supervisor logged "died with 0 call(s)". Each test runs
the real launcher on a real SQLite file, with a simulated Twilio caller and the provider doubles.
"""

import asyncio
import os
import signal
import time

from simulators.callers.script import Say, Wait, WaitForBotSilence
from storage.base import CallRecord
from storage.sqlite import SQLiteStorage
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually

REPLY = "Sure, what time?"


def _line(doubles, launcher_factory, **env: str):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": REPLY}])
    # Events are stored for a receiver that is down: the outbox keeps them, pending.
    return launcher_factory(
        ANALYSIS_ENABLED="false", WEBHOOK_URLS='["http://127.0.0.1:9/hooks"]', **env
    )


def _call(twilio_caller, launcher) -> asyncio.Task:
    caller = twilio_caller(launcher)
    script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15), Wait(30)]
    return asyncio.create_task(caller.run(script))


async def _answered(launcher, timeout: float = 30) -> dict:
    """The live details of the launcher's call once its first turn was answered."""

    def answered() -> dict | None:
        for call in [c for c in launcher.get("/calls").json() if c["active"]]:
            details = launcher.get(f"/calls/{call['call_id']}").json()
            if details.get("turn_latency_secs"):
                return details
        return None

    return await aeventually(answered, timeout, "an answered first turn", every=0.2)


async def _row(db, call_id: str, status: str, timeout: float = 15) -> tuple[CallRecord, list]:
    """The call's row once it has ``status``, and the outbox events about the call."""
    storage = SQLiteStorage(db)
    await storage.open()
    try:

        async def row():
            record = await storage.get_call(call_id)
            return record if record is not None and record.status == status else None

        async def events():
            found = [e for e in await storage.list_events() if e.call_id == call_id]
            return found if "call.ended" in {e.type for e in found} else None

        record = await aeventually(row, timeout, f"the call's row, {status}", every=0.2)
        return record, await aeventually(events, timeout, "its call.ended event", every=0.2)
    finally:
        await storage.close()


async def test_killed_worker_records_its_calls_as_lost(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    launcher = _line(
        doubles, launcher_factory, DATA_DIR=str(tmp_path), PROCESS_MODEL="workers", WORKERS="1"
    )
    call = _call(twilio_caller, launcher)
    details = await _answered(launcher)
    killed_at = time.monotonic()
    os.kill(details["worker_pid"], signal.SIGKILL)  # a native crash in the call's process
    record, events = await _row(tmp_path / "switchboard.db", details["call_id"], "ended")
    closed_within = time.monotonic() - killed_at
    await call
    assert record.end_reason == "worker_lost"
    assert record.ended_at is not None and record.duration_secs and record.duration_secs > 1.0
    assert closed_within < 5.0, closed_within  # at once, not at the next restart
    assert "call.ended" in {e.type for e in events}
    await aeventually(  # the supervisor notices the death on its next round
        lambda: "died with 1 call(s)" in launcher.log(), 5, "the worker's death in the log"
    )


async def test_rows_a_killed_launcher_left_active_are_closed_when_it_restarts(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    env = {"DATA_DIR": str(tmp_path), "HOST_ID": "host-a", "PROCESS_MODEL": "inprocess"}
    launcher = _line(doubles, launcher_factory, **env)
    call = _call(twilio_caller, launcher)
    details = await _answered(launcher)
    launcher.proc.kill()  # the whole host dies: nobody is left to close the row
    launcher.proc.wait(timeout=10)
    await call
    db = tmp_path / "switchboard.db"
    storage = SQLiteStorage(db)
    await storage.open()
    try:
        left = await storage.get_call(details["call_id"])
        assert left is not None and left.status == "active"
        other = left.model_copy(update={"id": "call_other_host", "metadata": {"host": "host-b"}})
        await storage.create_call(other)  # a live call of another host sharing the database
    finally:
        await storage.close()

    _line(doubles, launcher_factory, **env)  # the host comes back
    record, events = await _row(db, details["call_id"], "ended")
    assert record.end_reason == "worker_lost" and record.duration_secs is not None
    assert "call.ended" in {e.type for e in events}
    storage = SQLiteStorage(db)
    await storage.open()
    try:
        still = await storage.get_call("call_other_host")
    finally:
        await storage.close()
    assert still is not None and still.status == "active"
