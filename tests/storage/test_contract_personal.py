"""The storage contract for what we know about callers: memory search, retention, deletion.

Run against both backends. Search is full-text ranked (FTS5 bm25 / PostgreSQL ts_rank) and
never crosses callers or tenants; purge and delete report exact counts and leave everyone
else's rows alone.
"""

from __future__ import annotations

from datetime import timedelta

from storage.base import (
    Appointment,
    Callback,
    Memory,
    Message,
    OutboxEvent,
    Recording,
    TranscriptTurn,
    TurnMetrics,
    now,
)
from tests.storage.helpers import ago, call, fetch_recording, recording_dir, write_wav

FACTS = [
    "Has a dog named Rex who barks at the mail carrier",
    "Likes coffee with oat milk in the morning",
    "Is allergic to peanuts",
    "Prefers appointments in the afternoon",
]


async def remember(storage, caller_key, texts, tenant="default", minutes_ago=0):
    for i, text in enumerate(texts):
        when = ago(minutes=minutes_ago + len(texts) - i)
        await storage.add_memory(
            Memory(tenant=tenant, caller_key=caller_key, text=text, created_at=when)
        )


async def test_memory_search_puts_the_best_match_first(storage):
    await remember(storage, "+15550001", FACTS)
    dog = await storage.search_memories("default", "+15550001", "What is my dog called?")
    assert dog[0].text.startswith("Has a dog")
    slot = await storage.search_memories("default", "+15550001", "an afternoon appointment")
    assert slot[0].text == "Prefers appointments in the afternoon"
    snack = await storage.search_memories("default", "+15550001", "peanut snacks", limit=1)
    assert [m.text for m in snack] == ["Is allergic to peanuts"]


async def test_memory_search_never_crosses_callers_or_tenants(storage):
    await remember(storage, "+15550001", FACTS)
    await remember(storage, "+15550002", ["Has a dog named Max", "Owns a parrot"])
    await remember(storage, "+15550001", ["Has a dog named Fido"], tenant="other")
    mine = await storage.search_memories("default", "+15550001", "dog", limit=10)
    assert [m.text for m in mine] == [FACTS[0]]
    assert all(m.caller_key == "+15550001" and m.tenant == "default" for m in mine)
    theirs = await storage.search_memories("other", "+15550001", "dog named", limit=10)
    assert [m.text for m in theirs] == ["Has a dog named Fido"]
    nobody = await storage.search_memories("default", "+15559999", "dog")
    assert nobody == []


async def test_an_empty_or_unmatched_query_gives_recent_memories(storage):
    await remember(storage, "+15550001", FACTS)
    newest_first = list(reversed(FACTS))
    assert [m.text for m in await storage.list_memories("default", "+15550001")] == newest_first
    recent = await storage.search_memories("default", "+15550001", "", limit=2)
    assert [m.text for m in recent] == newest_first[:2]
    unmatched = await storage.search_memories("default", "+15550001", "zyzzyva quokka", limit=3)
    assert [m.text for m in unmatched] == newest_first[:3]
    odd = await storage.search_memories("default", "+15550001", 'dog" OR * NEAR(', limit=1)
    assert [m.text for m in odd] == [FACTS[0]]


async def a_whole_call(storage, tmp_path, call_id, started, **who):
    """A call with a turn, metrics, a recording (file + row), a message, a callback, an event."""
    await storage.create_call(call(call_id, started_at=started, **who))
    phone = who.get("caller_number") or "+10000000000"
    await storage.add_turn(
        TranscriptTurn(call_id=call_id, seq=1, role="user", text="hi", started_at=started)
    )
    await storage.add_turn_metrics(TurnMetrics(call_id=call_id, turn=1, created_at=started))
    wav = write_wav(recording_dir(storage, tmp_path) / f"{call_id}.wav")
    url = await storage.upload_recording(call_id, str(wav))
    await storage.add_recording(
        Recording(
            call_id=call_id,
            url=url,
            sample_rate=8000,
            duration_secs=0.1,
            bytes=1,
            created_at=started,
        )
    )
    tenant = who.get("tenant", "default")
    await storage.add_message(
        Message(tenant=tenant, call_id=call_id, text="call me", created_at=started)
    )
    await storage.add_callback(
        Callback(tenant=tenant, call_id=call_id, phone=phone, created_at=started)
    )
    await storage.enqueue_event(
        OutboxEvent(
            id=f"evt_{call_id}",
            tenant=tenant,
            type="call.ended",
            url="https://hook.test",
            payload={"call_id": call_id},
            created_at=started,
        )
    )
    await storage.mark_delivered(f"evt_{call_id}")
    return url


async def test_purge_deletes_only_what_is_older_than_the_cutoff(storage, tmp_path):
    old_url = await a_whole_call(storage, tmp_path, "old", ago(days=40), caller_number="+1555")
    new_url = await a_whole_call(storage, tmp_path, "new", ago(days=1), caller_number="+1555")
    await remember(storage, "+1555", ["Old fact"], minutes_ago=60 * 24 * 40)
    await remember(storage, "+1555", ["New fact"])
    await storage.enqueue_event(
        OutboxEvent(
            id="evt_pending", type="x", url="https://h.test", payload={}, created_at=ago(days=40)
        )
    )
    start = ago(days=41)
    await storage.add_appointment(
        Appointment(starts_at=start, ends_at=start + timedelta(hours=1), name="Past")
    )
    await storage.add_appointment(
        Appointment(starts_at=now(), ends_at=now() + timedelta(hours=1), name="Soon")
    )

    counts = await storage.purge_older_than(ago(days=30))

    assert counts == {
        "calls": 1,
        "transcript_turns": 1,
        "turn_metrics": 1,
        "recordings": 1,
        "messages": 1,
        "callbacks": 1,
        "memories": 1,
        "appointments": 1,
        "outbox_events": 1,
        "recording_files": 1,
    }
    assert await storage.get_call("old") is None and await storage.list_turns("old") == []
    assert fetch_recording(storage, old_url) is None
    assert await storage.get_call("new") is not None
    assert len(await storage.list_turns("new")) == 1
    assert len(await storage.list_turn_metrics("new")) == 1
    assert fetch_recording(storage, new_url) is not None
    assert [m.call_id for m in await storage.list_messages("default")] == ["new"]
    assert [c.call_id for c in await storage.list_callbacks("default")] == ["new"]
    assert [m.text for m in await storage.list_memories("default", "+1555")] == ["New fact"]
    assert {e.id for e in await storage.list_events()} == {"evt_new", "evt_pending"}
    window = await storage.list_appointments("default", ago(days=60), now() + timedelta(days=1))
    assert [a.name for a in window] == ["Soon"]
    assert (await storage.purge_older_than(ago(days=30)))["calls"] == 0


async def test_delete_caller_removes_everything_about_them_and_nothing_else(storage, tmp_path):
    me = {"caller_number": "+15550001", "caller_key": "user-1"}
    url = await a_whole_call(storage, tmp_path, "mine1", ago(days=2), **me)
    await a_whole_call(storage, tmp_path, "mine2", ago(days=1), caller_number="+15550001")
    await a_whole_call(storage, tmp_path, "theirs", ago(days=1), caller_number="+15550002")
    await a_whole_call(
        storage, tmp_path, "elsewhere", ago(days=1), caller_number="+15550001", tenant="other"
    )
    await remember(storage, "user-1", ["Has a dog named Rex"])
    await remember(storage, "+15550001", ["Likes tea"])
    await remember(storage, "+15550002", ["Likes coffee"])
    await remember(storage, "+15550001", ["Other tenant fact"], tenant="other")
    await storage.add_message(Message(caller_number="+15550001", text="no call"))
    await storage.add_appointment(
        Appointment(
            starts_at=now(), ends_at=now() + timedelta(hours=1), name="Me", phone="+15550001"
        )
    )

    counts = await storage.delete_caller("default", "+15550001")

    assert counts == {
        "calls": 2,
        "transcript_turns": 2,
        "turn_metrics": 2,
        "recordings": 2,
        "messages": 3,
        "callbacks": 2,
        "memories": 2,
        "appointments": 1,
        "outbox_events": 2,
        "recording_files": 2,
    }
    assert [c.id for c in await storage.list_calls("default")] == ["theirs"]
    assert fetch_recording(storage, url) is None
    assert await storage.list_memories("default", "user-1") == []
    assert await storage.list_memories("default", "+15550001") == []
    assert [m.text for m in await storage.list_memories("default", "+15550002")] == ["Likes coffee"]
    assert [m.call_id for m in await storage.list_messages("default")] == ["theirs"]
    assert len(await storage.list_turns("theirs")) == 1
    assert (await storage.get_recording("theirs")) is not None
    assert [c.id for c in await storage.list_calls("other")] == ["elsewhere"]
    assert len(await storage.list_memories("other", "+15550001")) == 1
    assert {e.id for e in await storage.list_events()} == {"evt_theirs", "evt_elsewhere"}
    again = await storage.delete_caller("default", "+15550001")
    assert set(again.values()) == {0}
