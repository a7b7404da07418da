"""A full launcher (MAX_CONCURRENT_CALLS=1, one call in progress) refuses politely everywhere."""

import asyncio

import httpx
import pytest

from simulators.callers.script import Wait
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form
from tests.eventually import aeventually


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    env = {**doubles.env(), "MAX_CONCURRENT_CALLS": "1", "TWILIO_CALLER_ID": "+15005550006"}
    with LauncherProcess(env) as running:
        yield running


async def _webhook(launcher, doubles):
    form = voice_webhook_form(random_sid("CA"), random_sid("AC"), "+15005550006", "+15005550001")
    url = f"{launcher.base_url}/twilio/voice"
    return await fetch_twiml(url, form, doubles.env()["TWILIO_AUTH_TOKEN"])


async def _until_active(launcher, timeout: float = 10.0) -> None:
    await aeventually(
        lambda: any(c["active"] for c in launcher.get("/calls").json()),
        timeout,
        "the first call to become active",
    )


async def test_full_launcher_apologises_refuses_streams_and_outbound(
    launcher, doubles, twilio_caller
):
    early = await _webhook(launcher, doubles)  # issued while there was room
    first = twilio_caller(launcher)
    running = asyncio.create_task(first.run([Wait(8)]))
    try:
        await _until_active(launcher)

        busy = await _webhook(launcher, doubles)
        assert busy.status_code == 200 and busy.rejected and busy.hangup, busy.body
        assert "busy" in busy.say_text

        late = TwilioCaller(early.stream_url, custom_parameters=early.parameters)
        result = await late.run([Wait(3)])
        assert result.hung_up_by_bot and result.close_code == 1013, result.to_dict()

        async with httpx.AsyncClient(base_url=launcher.base_url) as client:
            resp = await client.post("/calls/outbound", json={"to": "+15005550009"})
        assert resp.status_code == 429, resp.text
        assert int(resp.headers["Retry-After"]) > 0
        assert "full" in resp.json()["detail"]
    finally:
        first.hang_up()
        answered = await running
    assert answered.connected
    calls = launcher.get("/calls").json()
    assert [c["call_id"] for c in calls] == [answered.twiml.parameters["call_id"]], calls
    log = launcher.log()
    assert "refused, launcher is full" in log and "Traceback" not in log
    # Both refusals (the webhook's apology and the late stream) are counted for dashboards.
    metrics = launcher.get("/metrics").text
    assert 'switchboard_calls_refused_total{reason="full",transport="twilio"} 2.0' in metrics
    assert 'switchboard_webhook_backlog{status="pending"} 0.0' in metrics
