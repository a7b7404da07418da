"""Screenshots of the calls console for the README, from a real run against the doubles.

Starts the provider doubles, a webhook receiver and a launcher (recording on, webhooks on),
places a few simulated Twilio calls (a booking with a tool call, a call the caller interrupts
and ends with "goodbye", and one left live), then drives headless Chromium through the console
and saves ``docs/console-list.png``, ``docs/console-call.png`` and ``docs/console-fleet.png``.

Run: ``uv run --frozen python scripts/console_screenshots.py`` (about two minutes).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators.callers.browser import BrowserCaller  # noqa: E402
from simulators.callers.script import BargeIn, Say, Wait, WaitForBotSilence  # noqa: E402
from simulators.callers.twilio import TwilioCaller  # noqa: E402
from simulators.doubles.process import DoublesProcess  # noqa: E402
from tests.bots.scenario import (  # noqa: E402
    BOOKING,
    GOODBYE_Q,
    SERVICES_Q,
    STOP,
    full_call_rules,
)
from tests.launcher.process import LauncherProcess, free_port  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402

DOCS = REPO / "docs"
SECRET = "whsec-screenshots-0123456789"
VIEWPORT = {"width": 1280, "height": 900}
HOURS_Q = "what times do you have tomorrow"
OUTCOME = {
    "summary": "The caller asked about the practice's services, cut the long answer short and "
    "said goodbye.",
    "intent": "learn about services",
    "sentiment": "neutral",
    "action_items": ["Send the caller the price list"],
}


def rules() -> list[dict]:
    """The LLM double's script: a tool call for free times, the full-call rules, an outcome."""
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    return [
        {"match": "times do you have", "tool_calls": [
            {"name": "check_availability", "arguments": {"date": tomorrow}}]},
        {"after_tool": "check_availability", "reply": "Tomorrow I have nine or ten in the "
         "morning. Which works for you?"},
        {"match": "book an appointment", "reply": "Sure, what time works for you?"},
        {"match": "Analyse the call transcript", "reply": json.dumps(OUTCOME)},
        *full_call_rules(),
    ]  # fmt: skip


async def call(doubles: DoublesProcess, launcher: LauncherProcess, number: str, script: list):
    """One simulated phone call from ``number``."""
    caller = TwilioCaller(
        webhook_url=f"{launcher.base_url}/twilio/voice",
        auth_token=doubles.env()["TWILIO_AUTH_TOKEN"],
        from_number=number,
    )
    return await caller.run(script)


async def main() -> None:
    """Place the calls, then take the three screenshots."""
    DOCS.mkdir(exist_ok=True)
    port = free_port()
    receiver = await Receiver(SECRET, port=port).start()
    with DoublesProcess() as doubles, TemporaryDirectory(prefix="sb-shots-") as data:
        doubles.client.stt_phrases([HOURS_Q, BOOKING, SERVICES_Q, STOP, GOODBYE_Q])
        doubles.client.llm_rules(rules())
        env = {
            **doubles.env(),
            "DATA_DIR": data,
            "RECORDING_ENABLED": "true",
            "WEBHOOK_URLS": f'["{receiver.url}"]',
            "WEBHOOK_SECRET": SECRET,
            "HOST_ID": "sb-eu-1",
        }
        with LauncherProcess(env) as launcher:
            booking = [WaitForBotSilence(timeout=15), Say(HOURS_Q), WaitForBotSilence(timeout=15),
                       Say(BOOKING), WaitForBotSilence(timeout=15)]  # fmt: skip
            await call(doubles, launcher, "+15551230001", booking)
            interrupted = [
                WaitForBotSilence(timeout=15),
                Say(SERVICES_Q),
                BargeIn(STOP, after_bot_audio_secs=1.5),
                WaitForBotSilence(timeout=15),
                Say(GOODBYE_Q),
                Wait(12),
            ]
            await call(doubles, launcher, "+15551230002", interrupted)
            chatty = [WaitForBotSilence(timeout=15)]
            for _ in range(6):  # never quiet long enough for the idle prompt and goodbye
                chatty += [Say(BOOKING), WaitForBotSilence(timeout=15), Wait(6)]
            live = asyncio.create_task(call(doubles, launcher, "+15551230003", chatty))
            await asyncio.sleep(12)  # post-call work done, and the live call has answered
            calls = launcher.get("/calls").json()
            shown = next(c["call_id"] for c in calls if c["caller_number"] == "+15551230002")
            live_id = next(c["call_id"] for c in calls if c["active"])
            async with BrowserCaller(None) as browser:
                page = browser.page
                await page.set_viewport_size(VIEWPORT)
                await browser.open(f"{launcher.base_url}/console#/calls")
                await browser.wait_for_function(
                    "document.querySelectorAll('tr.call-row').length >= 3"
                )
                await page.screenshot(path=str(DOCS / "console-list.png"), full_page=True)
                await browser.open(f"{launcher.base_url}/console#/calls/{shown}")
                await browser.wait_for_function(
                    "(() => { const a = document.getElementById('recording');"
                    " return a && a.duration > 0 && document.querySelector('#webhooks'); })()"
                )
                await page.screenshot(path=str(DOCS / "console-call.png"), full_page=True)
                await browser.open(f"{launcher.base_url}/console#/fleet")
                await browser.wait_for_selector("#latency-chart")
                await asyncio.sleep(0.5)
                await page.screenshot(path=str(DOCS / "console-fleet.png"), full_page=True)
            httpx.post(f"{launcher.base_url}/calls/{live_id}/end", timeout=10)
            await live
    await receiver.stop()
    for name in ("console-list.png", "console-call.png", "console-fleet.png"):
        print("wrote", DOCS / name)


if __name__ == "__main__":
    asyncio.run(main())
