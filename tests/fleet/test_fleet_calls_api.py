"""The calls API and ``/metrics`` across a fleet: whichever launcher answers, every host's calls.

Two real launchers (``server.py``) share a real ``redis-server``; the call comes in through
host a's voice webhook as Twilio would send it and runs on host b, then is listed, shown, scraped
and ended through host a's API.
"""

import asyncio
import socket
import time

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from fleet.registry import HOSTS, host_key
from launcher.pooled_metrics import merge_hosts
from simulators.callers.listen import PhraseListener
from simulators.callers.script import Wait, WaitForBotSilence
from simulators.callers.twilio import TwilioCaller
from tests.fleet.hosts import fleet_host
from tests.fleet.test_fleet import _until, _webhook

GOODBYE = "Thank you for calling goodbye"
KEY = "the-fleet-api-key-0123456789"  # every host shares it; forwarded requests carry it
AUTH = {"Authorization": f"Bearer {KEY}"}


def _host(launcher_factory, redis_url: str, host_id: str, slots: int, **env: str):
    return fleet_host(
        launcher_factory, redis_url, host_id, slots, FLEET_PEER_TIMEOUT_SECS="0.5", **env
    )


def _samples(text: str, name: str) -> dict[str, float]:
    """``name``'s samples by their ``host`` label (``""``: none)."""
    return {
        s.labels.get("host", ""): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and s.labels.get("transport", "twilio") == "twilio"
    }


async def test_a_call_on_host_b_is_listed_shown_scraped_and_ended_through_host_a(
    doubles, launcher_factory, redis_url
):
    doubles.client.reset()
    production = {"ENV": "production", "SWITCHBOARD_API_KEY": KEY}
    a = _host(launcher_factory, redis_url, "a", 2, **production)
    b = _host(launcher_factory, redis_url, "b", 5, **production)  # more free slots: calls go here
    twiml = await _webhook(a, doubles)
    assert twiml.stream_url.startswith(b.ws_url), twiml.stream_url
    call_id = twiml.parameters["call_id"]
    caller = TwilioCaller(twiml.stream_url, custom_parameters=twiml.parameters)
    running = asyncio.create_task(caller.run([WaitForBotSilence(timeout=15), Wait(30)]))
    await _until(lambda: any(c["active"] for c in b.get("/calls", headers=AUTH).json()))

    assert a.get("/calls").status_code == 401  # the key is still needed at the door
    rows = a.get("/calls", headers=AUTH).json()  # a runs no call: the row is b's
    assert [(r["call_id"], r["host_id"], r["active"]) for r in rows] == [(call_id, "b", True)]
    assert [r["host_id"] for r in b.get("/calls", headers=AUTH).json()] == ["b"]  # once on b too
    shown = a.get(f"/calls/{call_id}", headers=AUTH)
    assert shown.status_code == 200, shown.text
    details = shown.json()
    assert (details["call_id"], details["host_id"]) == (call_id, "b")
    assert details["transport"] == "twilio"
    assert details["active"] and "transcript" in details

    fleet_metrics = a.get("/metrics", headers=AUTH).text  # one scrape of a: the whole fleet
    assert _samples(fleet_metrics, "switchboard_active_calls") == {"a": 0.0, "b": 1.0}
    assert _samples(fleet_metrics, "switchboard_calls_started_total") == {"b": 1.0}
    assert _samples(fleet_metrics, "switchboard_fleet_host_up") == {"a": 1.0, "b": 1.0}
    own = a.get("/metrics?scope=host", headers=AUTH).text  # a alone, unlabelled: per-host
    assert _samples(own, "switchboard_active_calls") == {"": 0.0}
    assert _samples(own, "switchboard_fleet_host_up") == {}

    for launcher in (a, b):  # no such call on any host
        assert launcher.get("/calls/nope", headers=AUTH).status_code == 404
        nope = httpx.post(f"{launcher.base_url}/calls/nope/end", headers=AUTH)
        assert nope.status_code == 404

    await asyncio.sleep(1.0)  # let the greeting finish playing
    ended = httpx.post(
        f"{a.base_url}/calls/{call_id}/end", json={"goodbye": GOODBYE}, headers=AUTH, timeout=10
    )
    assert ended.status_code == 202, ended.text
    assert ended.json() == {"call_id": call_id, "status": "ending", "host_id": "b"}
    result = await running
    assert result.hung_up_by_bot, result.to_dict()
    heard = PhraseListener([GOODBYE.lower()]).heard(result.bot_utterances[-1].pcm, 8000)
    assert heard == GOODBYE.lower()

    final = a.get(f"/calls/{call_id}", headers=AUTH).json()
    assert (final["active"], final["end_reason"], final["host_id"]) == (False, "ended_by_api", "b")
    assert final["transcript"][-1] == {"role": "assistant", "text": GOODBYE}
    after = a.get("/metrics", headers=AUTH).text
    assert _samples(after, "switchboard_active_calls") == {"a": 0.0, "b": 0.0}
    again = httpx.post(f"{a.base_url}/calls/{call_id}/end", headers=AUTH)
    assert again.status_code == 404  # ended already


async def test_a_host_that_does_not_answer_is_reported_not_waited_for(
    doubles, launcher_factory, redis_url
):
    a = _host(launcher_factory, redis_url, "a", 2)
    silent = socket.socket()  # accepts connections (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    ghost = {"url": f"http://127.0.0.1:{silent.getsockname()[1]}", "capacity": 0, "active": 0}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        client.hset(host_key("ghost"), mapping={**ghost, "draining": 0})  # no slots: no calls
        client.sadd(HOSTS, "ghost")
        started = time.monotonic()
        listed = a.get("/calls")
        assert time.monotonic() - started < 2.0  # FLEET_PEER_TIMEOUT_SECS=0.5, not a hang
        assert listed.status_code == 200 and listed.json() == []
        assert listed.headers["x-fleet-unreachable"] == "ghost"
        unknown = a.get("/calls/nope")  # it may be on the host that did not answer
        assert unknown.status_code == 503 and "ghost" in unknown.json()["detail"]
        scraped = a.get("/metrics").text
        assert _samples(scraped, "switchboard_fleet_host_up") == {"a": 1.0, "ghost": 0.0}
    finally:
        client.close()
        silent.close()


def test_merged_hosts_keep_every_sample_once_with_its_host():
    def started(n: int) -> str:
        return (
            "# TYPE switchboard_calls_started counter\n"
            f'switchboard_calls_started_total{{transport="twilio"}} {n}.0\n'
        )

    text = merge_hosts({"a": started(2), "b": started(3), "c": None}).decode()
    assert _samples(text, "switchboard_calls_started_total") == {"a": 2.0, "b": 3.0}
    assert _samples(text, "switchboard_fleet_host_up") == {"a": 1.0, "b": 1.0, "c": 0.0}
