"""Client tools and browser transfers, end to end in headless Chromium on the launcher's page.

The companion asks the page for the battery level over RTVI (server-message → client-message);
the page's answer reaches the LLM as the tool result. Asked for a transfer, the bot says it
cannot transfer a browser call, and the call goes on.
"""

import json

import pytest

from simulators.callers.mic import mic_track
from tests.bots.test_e2e_browser import _talk
from tools.transfer import REFUSAL

TRANSFER_Q = "i would like to speak to a person"
BATTERY_Q = "what is my battery level"
BATTERY_A = "Thanks, I checked your phone."


@pytest.fixture
def page_launcher(doubles, launcher_factory):
    doubles.client.reset()
    return launcher_factory(SWITCHBOARD_ICE_LOOPBACK_ONLY="1", CLIENT_TOOL_TIMEOUT_SECS="5")


async def test_browser_call_transfer_is_refused_aloud_and_the_call_goes_on(
    doubles, page_launcher, tmp_path
):
    doubles.client.stt_phrases([TRANSFER_Q, BATTERY_Q])
    doubles.client.llm_rules([
        {"match": "speak to a person", "tool_calls": [
            {"name": "transfer_call", "arguments": {"reason": "wants a person"}}]},
        {"match": "battery level", "reply": BATTERY_A},
    ])  # fmt: skip
    wav = mic_track(tmp_path / "mic.wav", [(9.0, TRANSFER_Q), (20.0, BATTERY_Q)], total=28)
    seen = await _talk(page_launcher, "receptionist", wav, seconds=28)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    assert any(REFUSAL in ln for ln in lines), lines  # said in full on the page
    assert not [r for r in doubles.client.twilio_requests() if "Twiml" in r["form"]]
    assert any(BATTERY_A in ln for ln in lines), lines  # the next turn is still answered
    assert seen["connection"] not in ("closed", "failed", "disconnected")


async def test_client_tool_round_trip_through_chromium(doubles, page_launcher, tmp_path):
    doubles.client.stt_phrases([BATTERY_Q])
    doubles.client.llm_rules([
        {"match": "battery level", "tool_calls": [{"name": "get_battery_level", "arguments": {}}]},
        {"after_tool": "get_battery_level", "reply": BATTERY_A},
    ])  # fmt: skip
    wav = mic_track(tmp_path / "mic.wav", [(8.0, BATTERY_Q)], total=18)
    seen = await _talk(page_launcher, "companion", wav, seconds=18)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    # The battery question went to the page and the page's answer came back to the LLM.
    requests = doubles.client.llm_requests()
    results = [
        json.loads(m["content"]) for r in requests for m in r["messages"] if m["role"] == "tool"
    ]
    page_answers = [
        res for res in results
        if "level_percent" in res or res.get("error") == "battery level is not available here"
    ]  # fmt: skip
    assert page_answers, results
    if "level_percent" in page_answers[0]:
        assert 0 <= page_answers[0]["level_percent"] <= 100
    assert any(BATTERY_A in ln for ln in lines), lines
    assert [c for c in seen["console"] if c.startswith("pageerror")] == []
