"""The storage contract, run against both backends (SQLite file; Supabase over real PostgreSQL).

Calls, transcript, metrics, tenant configuration, tools, recordings and the webhook outbox.
Memories and personal-data deletion are in ``test_contract_personal.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.base import (
    AgentConfig,
    Appointment,
    Callback,
    Message,
    OutboxEvent,
    Recording,
    TranscriptTurn,
    TurnMetrics,
    now,
)
from tests.storage.helpers import ago, call, fetch_recording, recording_dir, write_wav


async def test_a_call_round_trips_and_updates(storage):
    started = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    await storage.create_call(
        call("c1", caller_number="+15550001", started_at=started, metadata={"sid": "CA1"})
    )
    ended = started + timedelta(minutes=2)
    await storage.update_call(
        "c1", status="ended", ended_at=ended, duration_secs=120.5, cost={"total": 0.0123}
    )
    got = await storage.get_call("c1")
    assert got.started_at == started and got.started_at.utcoffset() == timedelta(0)
    assert (got.status, got.ended_at, got.duration_secs) == ("ended", ended, 120.5)
    assert got.cost == {"total": 0.0123} and got.metadata == {"sid": "CA1"}
    assert got.caller_number == "+15550001" and got.recording_url is None
    assert await storage.get_call("nope") is None


async def test_bad_call_updates_are_refused(storage):
    await storage.create_call(call("c1"))
    with pytest.raises(ValueError):
        await storage.update_call("c1", no_such_column=1)
    with pytest.raises(ValueError):
        await storage.update_call("c1", status="exploded")
    with pytest.raises(KeyError):
        await storage.update_call("missing", status="ended")
    with pytest.raises(ValueError):
        await storage.create_call(call("c1"))
    assert (await storage.get_call("c1")).status == "active"


async def test_calls_list_newest_first_per_tenant(storage):
    for i in range(3):
        await storage.create_call(call(f"a{i}", tenant="acme", started_at=ago(minutes=10 - i)))
    await storage.create_call(call("b0", tenant="other", started_at=ago()))
    assert [c.id for c in await storage.list_calls("acme")] == ["a2", "a1", "a0"]
    assert [c.id for c in await storage.list_calls("acme", limit=2)] == ["a2", "a1"]
    assert [c.id for c in await storage.list_calls()] == ["b0", "a2", "a1", "a0"]


async def test_turns_come_back_in_order_and_seq_is_unique(storage):
    await storage.create_call(call("c1"))
    for seq, role, text in [(2, "assistant", "How can I help?"), (1, "user", "Hello")]:
        await storage.add_turn(TranscriptTurn(call_id="c1", seq=seq, role=role, text=text))
    await storage.add_turn(
        TranscriptTurn(call_id="c1", seq=3, role="assistant", text="Sure", interrupted=True)
    )
    turns = await storage.list_turns("c1")
    assert [(t.seq, t.text) for t in turns] == [(1, "Hello"), (2, "How can I help?"), (3, "Sure")]
    assert [t.interrupted for t in turns] == [False, False, True]
    with pytest.raises(ValueError):
        await storage.add_turn(TranscriptTurn(call_id="c1", seq=1, role="user", text="again"))
    with pytest.raises(KeyError):
        await storage.add_turn(TranscriptTurn(call_id="ghost", seq=1, role="user", text="hi"))
    assert await storage.list_turns("ghost") == []


async def test_turn_metrics_keep_missing_stages_missing(storage):
    await storage.create_call(call("c1"))
    await storage.add_turn_metrics(TurnMetrics(call_id="c1", turn=2, total_ms=900.0))
    await storage.add_turn_metrics(
        TurnMetrics(call_id="c1", turn=1, stt_ms=120.5, llm_ms=300.0, tts_ms=150.0, total_ms=700)
    )
    rows = await storage.list_turn_metrics("c1")
    assert [(m.turn, m.stt_ms, m.total_ms) for m in rows] == [(1, 120.5, 700.0), (2, None, 900.0)]
    assert rows[1].tool_ms is None


async def test_agent_config_is_replaced_and_disabled_rows_are_hidden(storage):
    first = AgentConfig(tenant="acme", persona="receptionist", prompt="Be brief.")
    await storage.put_agent_config(first)
    second = AgentConfig(
        tenant="acme",
        persona="receptionist",
        greeting="Acme, hello!",
        providers={"tts": {"name": "cartesia"}},
        tools=[{"name": "lookup", "url": "https://example.test/hook"}],
        recording=False,
        turns={"barge_in": "off", "extra_backchannels": ["you bet"]},
    )
    await storage.put_agent_config(second)
    got = await storage.get_agent_config("acme", "receptionist")
    assert got.prompt is None and got.greeting == "Acme, hello!"
    assert got.providers == {"tts": {"name": "cartesia"}} and got.tools == second.tools
    assert got.recording is False and got.turns == second.turns
    assert await storage.get_agent_config("acme", "sales") is None
    await storage.put_agent_config(second.model_copy(update={"enabled": False}))
    disabled = await storage.get_agent_config("acme", "receptionist")
    assert disabled is not None and disabled.enabled is False  # the runner refuses it


async def test_agent_configs_are_listed_per_tenant_and_deleted(storage):
    rows = [
        AgentConfig(tenant="zeta", persona="coach", enabled=False),
        AgentConfig(tenant="acme", persona="receptionist", turns={"max_wait_secs": 2.5}),
        AgentConfig(tenant="acme", persona="coach", voice_settings={"speed": 1.1}),
    ]
    for row in rows:
        await storage.put_agent_config(row)
    listed = await storage.list_agent_configs()
    assert [(c.tenant, c.persona) for c in listed] == [
        ("acme", "coach"),
        ("acme", "receptionist"),
        ("zeta", "coach"),
    ]
    assert listed[1].turns == {"max_wait_secs": 2.5} and listed[0].turns == {}
    assert listed[0].voice_settings == {"speed": 1.1} and listed[2].enabled is False
    acme = await storage.list_agent_configs("acme")
    assert [c.persona for c in acme] == ["coach", "receptionist"]
    assert await storage.list_agent_configs("nobody") == []
    assert await storage.delete_agent_config("acme", "coach") is True
    assert await storage.delete_agent_config("acme", "coach") is False
    assert await storage.get_agent_config("acme", "coach") is None
    assert [(c.tenant, c.persona) for c in await storage.list_agent_configs()] == [
        ("acme", "receptionist"),
        ("zeta", "coach"),
    ]


async def test_overlapping_appointments_are_refused(storage):
    nine = datetime(2026, 5, 4, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    await storage.add_appointment(Appointment(starts_at=nine, ends_at=nine + hour, name="Ann"))
    with pytest.raises(ValueError):
        await storage.add_appointment(
            Appointment(starts_at=nine + hour / 2, ends_at=nine + 2 * hour, name="Bob")
        )
    with pytest.raises(ValueError):
        await storage.add_appointment(Appointment(starts_at=nine, ends_at=nine, name="Zero"))
    await storage.add_appointment(
        Appointment(starts_at=nine + hour, ends_at=nine + 2 * hour, name="Cat", phone="+1555")
    )
    await storage.add_appointment(
        Appointment(tenant="other", starts_at=nine, ends_at=nine + hour, name="Dan")
    )
    day = await storage.list_appointments("default", nine - 9 * hour, nine + 15 * hour)
    assert [(a.name, a.starts_at) for a in day] == [("Ann", nine), ("Cat", nine + hour)]
    first_hour = await storage.list_appointments("default", nine, nine + hour)
    assert [a.name for a in first_hour] == ["Ann"]


async def test_messages_and_callbacks_newest_first_per_tenant(storage):
    await storage.add_message(Message(text="old", created_at=ago(minutes=5)))
    await storage.add_message(Message(kind="voicemail", text="new", recording_url="/x.wav"))
    await storage.add_message(Message(tenant="other", text="theirs"))
    got = await storage.list_messages("default")
    assert [(m.text, m.kind) for m in got] == [("new", "voicemail"), ("old", "message")]
    assert [m.text for m in await storage.list_messages("default", limit=1)] == ["new"]
    await storage.add_callback(Callback(phone="+1555", created_at=ago(minutes=5)))
    await storage.add_callback(Callback(phone="+1666", preferred_time="tomorrow morning"))
    got = await storage.list_callbacks("default")
    assert [(c.phone, c.status) for c in got] == [("+1666", "pending"), ("+1555", "pending")]
    assert got[0].preferred_time == "tomorrow morning"
    assert await storage.list_callbacks("other") == []


async def test_a_recording_is_uploaded_and_its_row_kept(storage, tmp_path):
    await storage.create_call(call("c1"))
    wav = write_wav(recording_dir(storage, tmp_path) / "c1.wav")
    url = await storage.upload_recording("c1", str(wav))
    assert fetch_recording(storage, url) == wav.read_bytes()
    row = Recording(call_id="c1", url=url, sample_rate=8000, duration_secs=0.1, bytes=3244)
    await storage.add_recording(row)
    await storage.add_recording(row.model_copy(update={"duration_secs": 0.2}))
    got = await storage.get_recording("c1")
    assert (got.url, got.channels, got.duration_secs) == (url, 2, 0.2)
    assert await storage.get_recording("c2") is None
    with pytest.raises(KeyError):
        await storage.add_recording(row.model_copy(update={"call_id": "ghost"}))
    with pytest.raises(FileNotFoundError):
        await storage.upload_recording("c1", str(tmp_path / "missing.wav"))


async def test_outbox_delivers_once_retries_and_gives_up(storage):
    payload = {"call_id": "c1", "status": "ended"}
    first = OutboxEvent(
        id="evt_1",
        type="call.ended",
        url="https://hook.test/a",
        payload=payload,
        created_at=ago(minutes=3),
    )
    await storage.enqueue_event(first)
    await storage.enqueue_event(first.model_copy(update={"payload": {"changed": True}}))
    later = OutboxEvent(
        id="evt_2",
        type="call.started",
        url="https://hook.test/a",
        payload={},
        created_at=ago(minutes=2),
    )
    future = OutboxEvent(
        id="evt_3",
        type="call.started",
        url="https://hook.test/b",
        payload={},
        created_at=ago(minutes=4),
        next_attempt_at=now() + timedelta(hours=1),
    )
    await storage.enqueue_event(later)
    await storage.enqueue_event(future)
    due = await storage.due_events(now())
    assert [e.id for e in due] == ["evt_1", "evt_2"]
    assert due[0].payload == payload and due[0].call_id == "c1"

    retry_at = now() + timedelta(minutes=5)
    await storage.mark_attempt_failed("evt_1", "HTTP 500", retry_at)
    assert [e.id for e in await storage.due_events(now())] == ["evt_2"]
    assert [e.id for e in await storage.due_events(retry_at)] == ["evt_1", "evt_2"]
    await storage.mark_attempt_failed("evt_1", "HTTP 503", None)
    await storage.mark_delivered("evt_2")
    assert await storage.due_events(now() + timedelta(days=1)) == [future]

    failed = await storage.list_events("failed")
    assert [(e.id, e.attempts, e.last_error) for e in failed] == [("evt_1", 2, "HTTP 503")]
    delivered = await storage.list_events("delivered")
    assert delivered[0].id == "evt_2" and delivered[0].delivered_at is not None
    assert [e.id for e in await storage.list_events()] == ["evt_2", "evt_1", "evt_3"]
    counted = [await storage.count_events(s) for s in ("pending", "failed", "delivered", None)]
    assert counted == [1, 1, 1, 3]
    with pytest.raises(KeyError):
        await storage.mark_delivered("evt_nope")
    with pytest.raises(KeyError):
        await storage.mark_attempt_failed("evt_nope", "x", None)
