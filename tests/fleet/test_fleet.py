"""A fleet of hosts sharing one Redis: admission by free slots, draining and lost hosts.

Each host is a real launcher (``server.py``) with its own public URL; every call comes in
through a launcher's voice webhook, as Twilio would send it, and its stream goes to the host
the TwiML names.
"""

import asyncio
import os
import signal
import time

from simulators.callers.script import Wait
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form
from tests.eventually import aeventually
from tests.fleet.hosts import fleet_host


def _host(launcher_factory, redis_url: str, host_id: str, slots: int):
    return fleet_host(launcher_factory, redis_url, host_id, slots)


async def _webhook(launcher, doubles):
    form = voice_webhook_form(random_sid("CA"), random_sid("AC"), "+15005550006", "+15005550001")
    return await fetch_twiml(
        f"{launcher.base_url}/twilio/voice", form, doubles.env()["TWILIO_AUTH_TOKEN"]
    )


def _active(launcher) -> int:
    """Calls running on this host (``GET /calls`` lists the whole fleet's, each with its host)."""
    host = launcher.env["HOST_ID"]
    return sum(1 for c in launcher.get("/calls").json() if c["active"] and c["host_id"] == host)


async def _until(check, timeout: float = 15.0, what: str = "the fleet's calls") -> None:
    await aeventually(check, timeout, what)


async def _call_through(launcher, doubles, seconds: float):
    """A call admitted by ``launcher``'s webhook: (the stream URL it got, the running caller)."""
    twiml = await _webhook(launcher, doubles)
    assert not twiml.rejected, twiml.body
    caller = TwilioCaller(twiml.stream_url, custom_parameters=twiml.parameters)
    return twiml.stream_url, caller, asyncio.create_task(caller.run([Wait(seconds)]))


async def test_calls_spread_by_free_slots_and_a_full_fleet_refuses_politely(
    doubles, launcher_factory, redis_url
):
    a = _host(launcher_factory, redis_url, "a", 2)
    b = _host(launcher_factory, redis_url, "b", 1)
    calls = []
    for n in range(3):  # every call comes in through host a's webhook
        calls.append(await _call_through(a, doubles, 12))
        await _until(lambda n=n: _active(a) + _active(b) == n + 1)
    urls = [url for url, _, _ in calls]
    # Most free slots first: a (2 free), then a and b tie (a), then only b has room.
    assert [u.startswith(a.ws_url) for u in urls] == [True, True, False], urls
    assert urls[2].startswith(b.ws_url)
    assert (_active(a), _active(b)) == (2, 1)  # each call runs on the host its URL named
    await asyncio.sleep(1.0)  # a heartbeat: every launcher sees the same fleet
    fleet = b.get("/fleet").json()
    assert [(h["host_id"], h["capacity"], h["active"]) for h in fleet["hosts"]] == [
        ("a", 2, 2),
        ("b", 1, 1),
    ]
    assert (fleet["slots"], fleet["calls"]) == (3, 3)

    full = await _webhook(b, doubles)  # whichever launcher answers, the fleet is full
    assert full.status_code == 200 and full.rejected and full.hangup, full.body
    assert "busy" in full.say_text
    for _, caller, task in calls:
        caller.hang_up()
        assert (await task).connected


async def test_draining_host_gets_no_new_calls(doubles, launcher_factory, redis_url):
    b = _host(launcher_factory, redis_url, "b", 2)
    _, first, running = await _call_through(b, doubles, 30)  # b is alone: the call goes there
    await _until(lambda: _active(b) == 1)
    a = _host(launcher_factory, redis_url, "a", 2)
    os.kill(b.proc.pid, signal.SIGTERM)  # b drains: its call goes on, it takes no new one
    await asyncio.sleep(1.5)  # a heartbeat or two
    urls = []
    for _ in range(2):
        url, caller, task = await _call_through(b, doubles, 5)  # b's webhook still answers
        urls.append(url)
        caller.hang_up()
        await task
    assert all(u.startswith(a.ws_url) for u in urls), urls
    assert _active(b) == 1  # the draining host's own call is still running
    first.hang_up()
    assert (await running).connected


async def test_a_host_that_stops_beating_is_taken_out_within_its_ttl(
    doubles, launcher_factory, redis_url
):
    a = _host(launcher_factory, redis_url, "a", 2)
    b = _host(launcher_factory, redis_url, "b", 5)  # more room: it gets the calls while alive
    url, caller, task = await _call_through(a, doubles, 3)
    assert url.startswith(b.ws_url)
    caller.hang_up()
    await task
    os.kill(b.proc.pid, signal.SIGKILL)  # no goodbye to the registry: only its beats stop
    started = time.monotonic()

    async def routed_to_a() -> bool:
        return (await _webhook(a, doubles)).stream_url.startswith(a.ws_url)

    await aeventually(routed_to_a, 4.0, "calls routed away from the dead host", every=0.2)
    assert time.monotonic() - started <= 3.0  # FLEET_HOST_TTL_SECS (2 s) after its last beat


async def test_a_media_token_used_on_one_host_is_refused_on_another(
    doubles, launcher_factory, redis_url
):
    a = _host(launcher_factory, redis_url, "a", 2)
    b = _host(launcher_factory, redis_url, "b", 2)
    twiml = await _webhook(a, doubles)
    first, other = (a, b) if twiml.stream_url.startswith(a.ws_url) else (b, a)
    caller = TwilioCaller(twiml.stream_url, custom_parameters=twiml.parameters)
    running = asyncio.create_task(caller.run([Wait(6)]))
    await _until(lambda: _active(first) == 1)
    # The same signed stream start, sent to the other host's URL for the same call.
    replay_url = f"{other.ws_url}/twilio/media/{twiml.parameters['call_id']}"
    replay = await TwilioCaller(replay_url, custom_parameters=twiml.parameters).run([Wait(3)])
    assert replay.close_code == 1008, replay.to_dict()
    assert _active(other) == 0
    caller.hang_up()
    assert (await running).connected
