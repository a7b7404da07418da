"""The media websocket only runs calls for streams carrying a valid one-use token.

Each refused stream is closed by the launcher with 1008 right after ``start``, and no call
appears in ``/calls``.
"""

import asyncio

import pytest

from simulators.callers.script import Wait
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twiml import TwimlAnswer, fetch_twiml, random_sid, voice_webhook_form

TTL = 5


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    with LauncherProcess({**doubles.env(), "MEDIA_TOKEN_TTL_SECS": str(TTL)}) as running:
        yield running


async def _twiml(launcher, doubles, persona: str = "receptionist") -> TwimlAnswer:
    form = voice_webhook_form(random_sid("CA"), random_sid("AC"), "+15005550006", "+15005550001")
    url = f"{launcher.base_url}/twilio/voice?persona={persona}"
    answer = await fetch_twiml(url, form, doubles.env()["TWILIO_AUTH_TOKEN"])
    assert answer.stream_url and answer.parameters.get("media_token"), answer.body
    return answer


async def _stream(launcher, params: dict[str, str], seconds: float = 3.0):
    caller = TwilioCaller(f"{launcher.ws_url}/twilio/media", custom_parameters=params)
    return await caller.run([Wait(seconds)])


def _refused(result) -> bool:
    return result.connected and result.hung_up_by_bot and result.close_code == 1008


def _call_ids(launcher) -> list[str]:
    return [c["call_id"] for c in launcher.get("/calls").json()]


async def test_stream_without_a_token_is_closed(launcher):
    result = await _stream(launcher, {"persona": "receptionist", "call_id": "call_notoken"})
    assert _refused(result), result.to_dict()
    assert "call_notoken" not in _call_ids(launcher)


async def test_forged_or_tampered_token_is_closed(launcher, doubles):
    params = (await _twiml(launcher, doubles)).parameters
    expiry, nonce, signature = params["media_token"].split(".")
    forged = {**params, "media_token": f"{expiry}.{nonce}.{signature[::-1]}"}
    later = {**params, "media_token": f"{int(expiry) + 3600}.{nonce}.{signature}"}
    other_persona = {**params, "persona": "coach"}  # a real token, for another persona
    for bad in (forged, later, other_persona):
        assert _refused(await _stream(launcher, bad, seconds=2)), bad
    assert params["call_id"] not in _call_ids(launcher)
    log = launcher.log()
    assert log.count("twilio media stream refused") >= 3, log[-3000:]  # the three, logged
    assert params["media_token"] not in log


async def test_expired_token_is_closed(launcher, doubles):
    params = (await _twiml(launcher, doubles)).parameters
    await asyncio.sleep(TTL + 1.1)
    assert _refused(await _stream(launcher, params))
    assert params["call_id"] not in _call_ids(launcher)
    assert "media token expired" in launcher.log()


async def test_token_is_one_use(launcher, doubles):
    params = (await _twiml(launcher, doubles)).parameters
    first = await _stream(launcher, params, seconds=1.5)
    assert first.connected and not first.hung_up_by_bot, first.to_dict()
    assert _call_ids(launcher).count(params["call_id"]) == 1
    replay = await _stream(launcher, params)
    assert _refused(replay), replay.to_dict()
    assert _call_ids(launcher).count(params["call_id"]) == 1
    assert "media token replayed" in launcher.log()
