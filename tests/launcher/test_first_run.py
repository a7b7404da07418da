"""A first run without every provider key explains itself (operator issue, part 1).

The launcher starts with ``DEEPGRAM_API_KEY`` empty: the receptionist and the assistant (both on
Deepgram STT) cannot take calls, the companion and the coach can. Every way in says so before any
media is set up, and so do the page and the start-up log.
"""

import httpx
import pytest

from simulators.callers.browser import BrowserCaller
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form
from tests.launcher.process import LauncherProcess


@pytest.fixture(scope="module")
def launcher(doubles):
    with LauncherProcess({**doubles.env(), "DEEPGRAM_API_KEY": ""}) as running:
        yield running


def test_personas_say_which_can_take_a_call_and_what_is_missing(launcher):
    personas = {p["name"]: p for p in launcher.get("/personas").json()}
    for name in ("receptionist", "assistant"):
        assert not personas[name]["ready"]
        assert any("DEEPGRAM_API_KEY is not set" in m for m in personas[name]["missing"])
    for name in ("companion", "coach"):
        assert personas[name]["ready"] and personas[name]["missing"] == []
    log = launcher.log()
    assert f"launcher ready on http://127.0.0.1:{launcher.port}" in log
    assert "persona receptionist: cannot take calls: DEEPGRAM_API_KEY is not set" in log
    assert "persona companion: ready" in log


async def test_a_call_to_a_persona_that_cannot_run_is_refused_with_the_reason(launcher, doubles):
    offer = httpx.post(
        f"{launcher.base_url}/api/offer",
        json={"sdp": "v=0\r\nm=audio 9 x\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n", "type": "offer",
              "request_data": {"persona": "receptionist"}},
    )
    assert offer.status_code == 503 and "DEEPGRAM_API_KEY" in offer.json()["detail"]
    room = httpx.post(f"{launcher.base_url}/rooms", json={"persona": "assistant"})
    assert room.status_code == 503 and "DEEPGRAM_API_KEY" in room.json()["detail"]
    form = voice_webhook_form(random_sid("CA"), random_sid("AC"), "+15005550006", "+15005550001")
    twiml = await fetch_twiml(
        f"{launcher.base_url}/twilio/voice?persona=receptionist", form,
        doubles.env()["TWILIO_AUTH_TOKEN"],
    )
    assert twiml.rejected and twiml.hangup and "cannot take calls" in twiml.say_text, twiml.body
    assert launcher.get("/calls").json() == []  # nothing was started


async def test_the_page_greys_out_a_persona_that_cannot_run_and_says_why(launcher, tmp_path):
    from simulators.callers.mic import mic_track

    wav = mic_track(tmp_path / "mic.wav", [], total=2)
    async with BrowserCaller(wav, loop=False) as browser:
        await browser.open(f"{launcher.base_url}/?persona=receptionist")
        await browser.wait_for_function("document.querySelectorAll('#persona option').length > 0")
        disabled = await browser.evaluate(
            "[...document.querySelectorAll('#persona option')].filter(o => o.disabled)"
            ".map(o => o.value).sort()"
        )
        assert disabled == ["assistant", "receptionist"]
        assert "DEEPGRAM_API_KEY" in await browser.text("#persona-desc")
        await browser.page.click("#connect")  # Talk on it: a message in the page, no call
        await browser.wait_for_function(
            "document.getElementById('transcript').textContent.includes('DEEPGRAM_API_KEY')"
        )
        assert await browser.evaluate("document.getElementById('state').dataset.state") == "error"
    assert launcher.get("/calls").json() == []
