"""The browser page's room call (``POST /api/rooms``) in a fleet: it runs where there is room.

Two real launchers (``server.py``, production mode: the page presents a session token, never the
API key) share a real ``redis-server``; the LiveKit server is the doubles'. The page asks one
host for a room; the fleet picks the host with the most free slots, the bot runs there, and the
page gets its own room, token and URL back from the host it asked. A full fleet says so (429).
"""

from __future__ import annotations

import asyncio

import httpx
from livekit import api

from fleet.peers import HOP_HEADER
from launcher.room_placement import CALL_ID_HEADER
from tests.eventually import aeventually
from tests.fleet.hosts import fleet_host

KEY = "the-fleet-api-key-0123456789"  # every host shares it; forwarded requests carry it
AUTH = {"Authorization": f"Bearer {KEY}"}
SCENARIO = "asking for a raise after a strong year"


def _host(launcher_factory, redis_url: str, host_id: str, slots: int):
    production = {"ENV": "production", "SWITCHBOARD_API_KEY": KEY}
    return fleet_host(launcher_factory, redis_url, host_id, slots, **production)


def _session(host, user_id: str) -> str:
    """A session token for one caller, as the operator's backend asks any host for it."""
    body = {
        "persona": "coach",
        "tenant": "acme",
        "user": {"id": user_id, "name": "Robin"},
        "metadata": {"role": "a hiring manager"},
    }
    answer = httpx.post(f"{host.base_url}/sessions", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


async def _page_asks(host, session: str, **headers: str) -> httpx.Response:
    """``POST /api/rooms`` as the page sends it: no API key, the session and the coach's fields."""
    body = {"persona": "coach", "session": session, "metadata": {"scenario": SCENARIO}}
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{host.base_url}/api/rooms", json=body, headers=headers)


def _local_calls(host) -> list[dict]:
    """The calls ``host`` runs itself (asked as another host would: no fan-out)."""
    return host.get("/calls", headers={HOP_HEADER: "test", **AUTH}).json()


def _runs_on(host, call_id: str) -> bool:
    return any(c["call_id"] == call_id and c["active"] for c in _local_calls(host))


async def _joins(doubles, room: str, prefix: str) -> list[dict]:
    joins = await asyncio.to_thread(doubles.client.livekit_joins)
    return [j for j in joins if j.get("room") == room and j["identity"].startswith(prefix)]


async def test_a_browser_room_runs_on_the_host_with_room_and_a_full_fleet_refuses(
    doubles, launcher_factory, redis_url
):
    a = _host(launcher_factory, redis_url, "a", 1)
    b = _host(launcher_factory, redis_url, "b", 1)
    # A page posing as a host (to skip the placement, or pick its call id) is refused.
    hop = {HOP_HEADER: "a", CALL_ID_HEADER: "call_0123456789abcdef01234567"}
    posing = await _page_asks(b, _session(a, "learner-0"), **hop)
    assert posing.status_code == 401, posing.text

    # a and b tie, and the fleet picks a: the page asked b, the bot runs on a.
    first = await _page_asks(b, _session(a, "learner-1"))
    assert first.status_code == 200, first.text
    assert _runs_on(a, first.json()["call_id"]) and not _local_calls(b)

    # a is full now: the page asks a, the fuller host, and the bot runs on b.
    answer = await _page_asks(a, _session(b, "learner-42"))
    assert answer.status_code == 200, answer.text
    grant = answer.json()
    call_id, room = grant["call_id"], grant["room"]
    assert _runs_on(b, call_id) and not _runs_on(a, call_id)
    rows = {r["call_id"]: r["host_id"] for r in a.get("/calls", headers=AUTH).json()}
    assert rows == {first.json()["call_id"]: "a", call_id: "b"}
    details = a.get(f"/calls/{call_id}", headers=AUTH).json()  # the session's caller, on b
    assert (details["host_id"], details["persona"], details["tenant"]) == ("b", "coach", "acme")

    # Every slot of the fleet is taken: whichever host the page asks, a polite refusal, and no
    # call starts anywhere.
    for host in (a, b):
        full = await _page_asks(host, _session(host, "learner-7"))
        assert full.status_code == 429, full.text
        assert "full" in full.json()["detail"] and int(full.headers["retry-after"]) > 0
    assert {c["call_id"] for c in _local_calls(a) + _local_calls(b)} == set(rows)

    # The browser's answer is usable: a token for that room, for the session's caller.
    env = doubles.env()
    assert grant["url"] == env["LIVEKIT_URL"] and grant["persona"] == "coach"
    claims = api.TokenVerifier(env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]).verify(
        grant["token"]
    )
    assert (claims.identity, claims.video.room) == ("learner-42", room) and claims.video.room_join
    assert not claims.video.room_admin and not claims.video.room_create
    validate = grant["url"].replace("ws", "http", 1) + "/rtc/validate"
    async with httpx.AsyncClient(timeout=10) as http:  # the page's join, as livekit-client makes it
        await http.get(validate, params={"access_token": grant["token"]})
    page = await _joins(doubles, room, "learner-42")
    assert page and all(j["valid"] and j["room_join"] for j in page), page
    bot = await aeventually(lambda: _joins(doubles, room, f"bot-{call_id}"), 20, "b's bot")
    assert all(j["valid"] and j["room_join"] for j in bot), bot
