"""The PostgREST double answers like PostgREST: same URLs, same JSON, same error codes and status.

If it drifted from the real thing, the Supabase backend's tests would prove nothing, so the
wire format the backend relies on is pinned here with plain HTTP requests.
"""

from __future__ import annotations

import httpx
import pytest

from tests.storage.conftest import empty_tables

CALL = {"id": "c1", "persona": "receptionist", "transport": "twilio"}


@pytest.fixture
def rest(postgrest):
    empty_tables(postgrest.dsn)
    headers = {"apikey": postgrest.key, "Authorization": f"Bearer {postgrest.key}"}
    with httpx.Client(base_url=f"{postgrest.url}/rest/v1", headers=headers) as client:
        yield client


def test_the_service_key_is_required(postgrest):
    url = f"{postgrest.url}/rest/v1/calls"
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.json()["message"] == "No API key found in request"
    wrong = httpx.get(url, headers={"apikey": "anon", "Authorization": "Bearer anon"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "Invalid API key"


def test_insert_select_filter_order_and_page(rest):
    rows = [
        {**CALL, "id": f"c{i}", "started_at": f"2026-01-0{i}T10:00:00Z", "cost": {"total": i}}
        for i in range(1, 5)
    ]
    created = rest.post("/calls", json=rows, headers={"Prefer": "return=representation"})
    assert created.status_code == 201 and len(created.json()) == 4
    assert created.json()[0]["started_at"] == "2026-01-01T10:00:00+00:00"
    assert created.json()[0]["cost"] == {"total": 1} and created.json()[0]["status"] == "active"
    got = rest.get(
        "/calls",
        params={
            "select": "id,cost",
            "started_at": "gte.2026-01-02T00:00:00Z",
            "order": "started_at.desc",
            "limit": "2",
            "offset": "1",
        },
    )
    assert got.json() == [{"id": "c3", "cost": {"total": 3}}, {"id": "c2", "cost": {"total": 2}}]
    picked = rest.get("/calls", params={"select": "id", "id": 'in.(c1,"c4")', "order": "id"})
    assert [r["id"] for r in picked.json()] == ["c1", "c4"]
    nulls = rest.get("/calls", params={"select": "id", "ended_at": "is.null", "id": "neq.c1"})
    assert len(nulls.json()) == 3


def test_exact_counts_in_content_range_also_on_head(rest):
    rows = [{**CALL, "id": f"c{i}"} for i in range(1, 4)]
    assert rest.post("/calls", json=rows).status_code == 201
    plain = rest.get("/calls", params={"select": "id", "limit": "2"})
    assert (plain.status_code, plain.headers["Content-Range"]) == (200, "0-1/*")
    count = {"Prefer": "count=exact"}
    page = rest.get("/calls", params={"select": "id", "limit": "2"}, headers=count)
    assert (page.status_code, page.headers["Content-Range"]) == (206, "0-1/3")
    head = rest.head("/calls", params={"select": "id", "id": "neq.c1"}, headers=count)
    assert (head.status_code, head.headers["Content-Range"], head.content) == (200, "0-1/2", b"")
    none = rest.head("/calls", params={"select": "id", "id": "eq.nope"}, headers=count)
    assert none.headers["Content-Range"] == "*/0"
    past = rest.get("/calls", params={"offset": "5"}, headers=count)
    assert (past.status_code, past.json()["code"]) == (416, "PGRST103")


def test_errors_carry_sqlstate_and_postgrest_status(rest):
    assert rest.post("/calls", json=CALL).status_code == 201
    duplicate = rest.post("/calls", json=CALL)
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["code"] == "23505" and body["details"] == "Key (id)=(c1) already exists."
    unknown = rest.post("/calls", json={**CALL, "id": "c2", "colour": "red"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "PGRST204")
    bad_filter = rest.get("/calls", params={"colour": "eq.red"})
    assert (bad_filter.status_code, bad_filter.json()["code"]) == (400, "42703")
    no_table = rest.get("/nope")
    assert (no_table.status_code, no_table.json()["code"]) == (404, "PGRST205")
    slot = {"id": "a1", "name": "Ann", "starts_at": "2026-01-01T09:00:00Z"}
    rest.post("/appointments", json={**slot, "ends_at": "2026-01-01T10:00:00Z"})
    overlap = rest.post(
        "/appointments", json={**slot, "id": "a2", "ends_at": "2026-01-01T09:30:00Z"}
    )
    assert (overlap.status_code, overlap.json()["code"]) == (400, "23P01")
    backwards = rest.post(
        "/appointments",
        json={**slot, "id": "a3", "starts_at": "2026-02-01T09:00Z", "ends_at": "2026-02-01T08:00Z"},
    )
    assert (backwards.status_code, backwards.json()["code"]) == (400, "23514")
    orphan = rest.post(
        "/transcript_turns", json={"call_id": "x", "seq": 1, "role": "user", "text": "hi"}
    )
    assert (orphan.status_code, orphan.json()["code"]) == (409, "23503")
    no_fn = rest.post("/rpc/nope", json={})
    assert (no_fn.status_code, no_fn.json()["code"]) == (404, "PGRST202")


def test_upsert_update_delete_and_rpc(rest):
    event = {"id": "e1", "type": "call.ended", "url": "https://h.test", "payload": {"a": 1}}
    prefer_ignore = {"Prefer": "return=minimal,resolution=ignore-duplicates"}
    assert rest.post("/outbox_events", json=event, params={"on_conflict": "id"}).status_code == 201
    again = rest.post(
        "/outbox_events",
        json={**event, "payload": {"a": 2}},
        params={"on_conflict": "id"},
        headers=prefer_ignore,
    )
    assert again.status_code == 201 and again.content == b""
    assert rest.get("/outbox_events", params={"select": "payload"}).json() == [
        {"payload": {"a": 1}}
    ]
    merged = rest.post(
        "/outbox_events",
        json={**event, "payload": {"a": 3}},
        params={"on_conflict": "id"},
        headers={"Prefer": "return=representation,resolution=merge-duplicates"},
    )
    assert merged.json()[0]["payload"] == {"a": 3}
    patched = rest.patch(
        "/outbox_events",
        params={"id": "eq.e1"},
        json={"status": "delivered"},
        headers={"Prefer": "return=representation"},
    )
    assert [r["status"] for r in patched.json()] == ["delivered"]
    none = rest.patch(
        "/outbox_events",
        params={"id": "eq.zz"},
        json={"status": "failed"},
        headers={"Prefer": "return=representation"},
    )
    assert none.json() == []
    count = rest.post(
        "/rpc/outbox_attempt_failed",
        json={"p_id": "e1", "p_error": "boom", "p_next_attempt_at": None},
    )
    assert count.json() == 1
    gone = rest.delete("/outbox_events", params={"id": "eq.e1"})
    assert gone.status_code == 204 and rest.get("/outbox_events").json() == []
