"""Browser calls end to end: headless Chromium (fake mic) → the launcher's page → SmallWebRTC."""

import asyncio
import time

import pytest

from simulators.callers.browser import BrowserCaller
from simulators.callers.mic import mic_track
from tests.bots.scenario import (
    GOODBYE,
    LONG_REPLY,
    SERVICES_Q,
    STOP,
    full_call_rules,
    spoken_before_barge_in,
    user_texts,
)


@pytest.fixture
def web_launcher(doubles, launcher_factory):
    doubles.client.reset()
    return launcher_factory(SWITCHBOARD_ICE_LOOPBACK_ONLY="1")


async def _talk(
    launcher, persona: str, wav, seconds: float, until_closed: bool = False, hang_up: bool = False
):
    """Open the page, pick the persona, press Talk, and let the call run."""
    async with BrowserCaller(wav, loop=False) as browser:
        await browser.open(f"{launcher.base_url}/?persona={persona}")
        await browser.wait_for_function("document.querySelectorAll('#persona option').length > 0")
        await browser.page.click("#connect")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if until_closed and await browser.evaluate("window.switchboard.connection") in (
                "closed",
                "failed",
                "disconnected",
            ):
                break
        seen = {
            "transcript": await browser.text("#transcript"),
            "events": await browser.evaluate("window.switchboard.events"),
            "bot_audio_max": await browser.evaluate("window.switchboard.botAudioMax"),
            "connection": await browser.evaluate("window.switchboard.connection"),
            "console": list(browser.console),
        }
        if hang_up:  # the caller presses "Hang up" (the page closes its peer connection)
            await browser.page.click("#connect")
        return seen


GREETINGS = {
    "receptionist": "Thank you for calling Bright Smile Dental",
    "coach": "Hi! Let's practise. I'll play a friendly colleague.",
    "companion": "Hey there! Good to hear from you.",
    "assistant": "Hi, I'm your assistant.",
}


@pytest.mark.parametrize("persona", sorted(GREETINGS))
async def test_full_call_in_the_browser(doubles, web_launcher, tmp_path, persona):
    """Greeting, a turn, a barge-in, and a goodbye before the bot hangs up, all on the page."""
    doubles.client.stt_phrases([SERVICES_Q, STOP, "goodbye"])
    doubles.client.llm_rules(full_call_rules())
    wav = mic_track(
        tmp_path / "mic.wav", [(9.0, SERVICES_Q), (15.5, STOP), (22.0, "goodbye")], total=40
    )
    seen = await _talk(web_launcher, persona, wav, seconds=40, until_closed=True)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    # The greeting is the first thing said, and it was heard as audio in the page.
    assert lines[0].startswith(f"Bot:{GREETINGS[persona]}"), lines
    assert seen["bot_audio_max"] > 0.01
    # The caller's question reached the LLM as a transcript and the reply was spoken.
    assert any(SERVICES_Q in t for t in user_texts(doubles.client.llm_requests()))
    assert any("We offer cleanings" in ln for ln in lines), lines
    # Barge-in: the caller started speaking over the reply and the bot stopped.
    types = [e["type"] for e in seen["events"]]
    reply_start = _index_after(types, "bot-started-speaking", types.index("user-transcription"))
    barge = types.index("user-started-speaking", reply_start)
    # The reply stops (pause, then "stop" read as an interruption) before the bot speaks again;
    # the reply's text events may still arrive in between, so count time, not events.
    stopped = types.index("bot-stopped-speaking", barge)
    assert "bot-started-speaking" not in types[barge:stopped], types[barge : stopped + 1]
    events = seen["events"]
    assert events[stopped]["t"] - events[barge]["t"] < 2000, types[barge : stopped + 1]
    spoken = spoken_before_barge_in(doubles.client.llm_requests())
    assert 0 < len(spoken) < len(LONG_REPLY), spoken
    # The goodbye was spoken completely, then the bot ended the call.
    assert any(GOODBYE in ln for ln in lines), lines
    assert seen["connection"] in ("closed", "failed", "disconnected"), seen["connection"]
    call = await web_launcher.last_call_over()
    assert call["end_reason"] == "end_call"
    assert [c for c in seen["console"] if c.startswith("pageerror")] == []


def _index_after(items: list[str], value: str, start: int) -> int:
    return items.index(value, start + 1)


@pytest.mark.parametrize("persona", sorted(GREETINGS))
async def test_browser_caller_leaving_mid_reply_ends_cleanly(
    doubles, web_launcher, tmp_path, persona
):
    doubles.client.stt_phrases([SERVICES_Q])
    doubles.client.llm_rules([{"match": "about your services", "reply": LONG_REPLY}])
    wav = mic_track(tmp_path / "mic.wav", [(8.0, SERVICES_Q)], total=15)
    seen = await _talk(web_launcher, persona, wav, seconds=15, hang_up=True)
    lines = seen["transcript"].splitlines()
    assert any("We offer cleanings" in ln for ln in lines), lines
    assert not any("payment plans" in ln for ln in lines), "the reply should still be playing"
    call = await web_launcher.last_call_over(timeout=15)
    assert call["end_reason"] == "caller_hung_up"
    stats = doubles.client.stats()
    assert stats["open_sockets_total"] == 0, stats
    log = web_launcher.log()
    # The log is there: an empty one would pass the absence checks below.
    assert f"call={call['call_id']}" in log, log[-3000:]
    assert "Traceback" not in log and "| ERROR" not in log, log[-3000:]


async def test_browser_tab_killed_mid_reply_ends_the_call(doubles, web_launcher, tmp_path):
    # No hang-up message at all: the page's keep-alive pings stop and the launcher notices.
    doubles.client.stt_phrases([SERVICES_Q])
    doubles.client.llm_rules([{"match": "about your services", "reply": LONG_REPLY}])
    wav = mic_track(tmp_path / "mic.wav", [(8.0, SERVICES_Q)], total=15)
    await _talk(web_launcher, "receptionist", wav, seconds=15)
    call = await web_launcher.last_call_over(timeout=12)
    assert call["end_reason"] == "caller_hung_up"
    assert doubles.client.stats()["open_sockets_total"] == 0
