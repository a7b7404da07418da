"""The calls console in a real Chromium against a real production launcher and the doubles.

- A finished phone call (the simulated Twilio caller) is listed, and its page shows the
  transcript with the cut turn marked, a stacked latency bar per turn, a recording that plays,
  the analysis, the cost, the tool call and the webhook deliveries.
- A live call's transcript grows in the open page, and "End call" ends it: the caller hears the
  goodbye, and the page shows the call ended by the API.
"""

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from launcher.calls_routes import DEFAULT_GOODBYE
from simulators.callers.browser import BrowserCaller
from simulators.callers.listen import PhraseListener
from simulators.callers.script import BargeIn, Say, Wait, WaitForBotSilence
from tests.bots.scenario import BOOKING, GOODBYE_Q, SERVICES_Q, STOP, full_call_rules
from tests.eventually import aeventually
from tests.launcher.process import LauncherProcess, free_port
from tests.launcher.production import API_KEY, production_env
from tests.webhooks.receiver import Receiver

STAGES = ["end_of_turn", "stt", "llm", "tts", "tool", "own"]  # the bar's order
SECRET = "whsec-console-0123456789abcdef"
KEY = {"X-API-Key": API_KEY}
HOOK_PORT = free_port()


@pytest.fixture(scope="module")
def launcher(doubles, tmp_path_factory):
    env = production_env(
        doubles,
        DATA_DIR=str(tmp_path_factory.mktemp("console")),
        RECORDING_ENABLED="true",
        WEBHOOK_URLS=f'["http://127.0.0.1:{HOOK_PORT}/hook"]',
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_BACKOFF_SECS="0.3",
        WEBHOOK_BACKOFF_MAX_SECS="1",
    )
    with LauncherProcess(env) as running:
        yield running


async def _api(launcher, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=launcher.base_url, timeout=10, headers=KEY) as client:
        return await client.get(path)


async def _sign_in(browser: BrowserCaller, launcher) -> None:
    """Open the console as a stranger: the sign-in form; the key; then the calls list."""
    await browser.open(f"{launcher.base_url}/console")
    await browser.wait_for_selector("#key")
    await browser.page.fill("#key", API_KEY)
    await browser.page.click("#sign-in")
    await browser.wait_for_selector("#calls", timeout=20)
    errors = [m for m in browser.console if m.startswith(("error", "pageerror"))]
    assert errors == [
        "error: Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ], browser.console  # the sign-in form's page load
    browser.console.clear()


async def test_a_finished_call_in_the_console(doubles, twilio_caller, launcher):
    doubles.client.reset()
    doubles.client.stt_phrases([SERVICES_Q, STOP, GOODBYE_Q])
    doubles.client.llm_rules(full_call_rules())
    receiver = await Receiver(SECRET, port=HOOK_PORT).start()
    try:
        result = await twilio_caller(launcher).run(
            [
                WaitForBotSilence(timeout=15),
                Say(SERVICES_Q),
                BargeIn(STOP, after_bot_audio_secs=1.5),
                WaitForBotSilence(timeout=15),
                Say(GOODBYE_Q),
                Wait(12),  # the bot says goodbye (its end_call tool) and hangs up
            ]
        )
        assert result.errors == [] and result.hung_up_by_bot, result.errors
        [row] = (await _api(launcher, "/console/api/calls")).json()
        call_id = row["call_id"]

        async def settled():  # the post-call work: recording, analysis, every webhook delivered
            detail = (await _api(launcher, f"/console/api/calls/{call_id}")).json()
            hooks = detail["webhooks"]
            done = detail["recording"] and detail["analysis"] and len(hooks) == 3
            return detail if done and all(h["status"] == "delivered" for h in hooks) else None

        detail = await aeventually(settled, 60, "recording, analysis and webhooks", every=0.3)
    finally:
        await receiver.stop()
    assert detail["status"] == "ended" and detail["end_reason"] == "end_call"
    assert [t["role"] for t in detail["transcript"]][:2] == ["assistant", "user"]
    assert [t["interrupted"] for t in detail["transcript"]].count(True) == 1, detail["transcript"]

    async with BrowserCaller(None) as browser:
        await _sign_in(browser, launcher)
        page = browser.page
        row = page.locator(f'tr.call-row[data-call-id="{call_id}"]')
        await row.wait_for()
        cells = await row.locator("td").all_inner_texts()
        assert cells[1] == "receptionist" and cells[5] == "ended" and cells[7] == "end_call", cells
        assert cells[8].startswith("$") and cells[9].endswith(" ms"), cells  # cost, v2v p50
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        today = date.today().isoformat()
        for kind, name, value, expected in (  # each filter refetches the list
            ("select", "status", "failed", 0),
            ("select", "status", "ended", 1),
            ("select", "persona", "companion", 0),
            ("select", "persona", "receptionist", 1),
            ("fill", "tenant", "someone-else", 0),
            ("fill", "tenant", "default", 1),
            ("fill", "since", tomorrow, 0),
            ("fill", "since", today, 1),
            ("fill", "until", today, 1),
        ):
            if kind == "select":
                await page.select_option(f"#filter-{name}", value)
            else:
                await page.fill(f"#filter-{name}", value)
                await page.dispatch_event(f"#filter-{name}", "change")
            await browser.wait_for_function(
                f"document.querySelectorAll('tr.call-row').length === {expected}"
            )
        await row.click()

        # The transcript, with the reply the caller cut short marked.
        await browser.wait_for_selector("#transcript .turn")
        turns = await page.locator("#transcript .turn").evaluate_all(
            "ns => ns.map(n => [n.dataset.role, n.dataset.interrupted, n.innerText])"
        )
        assert [t[0] for t in turns] == [t["role"] for t in detail["transcript"]]
        assert "services" in turns[1][2].lower()
        cut = [t for t in turns if t[1] == "true"]
        assert len(cut) == 1 and cut[0][0] == "assistant" and "interrupted" in cut[0][2], turns

        # A stacked bar per answered turn: coloured stage segments that fill the bar.
        bars = await page.locator("#latency-bars .lat-row").evaluate_all(
            """rows => rows.map(r => {
                const bar = r.querySelector('.bar').getBoundingClientRect().width;
                const segs = [...r.querySelectorAll('.seg')];
                return {bar, stages: segs.map(s => s.dataset.stage),
                        filled: segs.reduce((a, s) => a + s.getBoundingClientRect().width, 0)};
            })"""
        )
        assert len(bars) == len(detail["turn_metrics"]) >= 1, bars
        for bar, metrics in zip(bars, detail["turn_metrics"], strict=True):
            assert bar["bar"] > 0 and abs(bar["filled"] - bar["bar"]) < 1.5, bar
            assert {"end_of_turn", "stt", "llm"} <= set(bar["stages"]), bar
            assert bar["stages"] == [s for s in STAGES if (metrics[s] or 0) > 0], (bar, metrics)

        # The recording loads (stereo WAV through the cookie-guarded route) and plays.
        await browser.wait_for_function(
            "(() => { const a = document.getElementById('recording');"
            " return a && a.readyState >= 1 && a.duration > 0; })()"
        )
        duration = await browser.evaluate("document.getElementById('recording').duration")
        assert abs(duration - detail["recording"]["duration_secs"]) < 0.1, duration
        assert detail["recording"]["channels"] == 2
        await browser.evaluate("document.getElementById('recording').play()")
        await browser.wait_for_function(
            "document.getElementById('recording').currentTime > 0.5", timeout=10
        )

        text = await browser.text("main")
        assert "end_call" in await browser.text("#tool-calls")
        assert "summary" in await browser.text("#analysis")
        assert "Total" in await browser.text("#cost")
        hooks = await page.locator("#webhooks tr[data-event]").evaluate_all(
            "rs => rs.map(r => [r.dataset.event, r.querySelector('[data-status]').dataset.status])"
        )
        assert sorted(hooks) == [
            ["call.ended", "delivered"], ["call.started", "delivered"],
            ["recording.ready", "delivered"],
        ], (hooks, text)  # fmt: skip

        # The fleet: this host, the hour's call, and its turns in the latency plot.
        await page.click('header a[data-nav="fleet"]')
        await browser.wait_for_selector("#latency-chart")
        assert await browser.text("#stat-hour") == "1"
        assert await browser.text("#stat-active") == "0"
        hosts = await page.locator("#hosts-chart [data-host]").evaluate_all(
            "gs => gs.map(g => g.textContent)"
        )
        assert len(hosts) == 1 and "0/20 · 1 in the hour" in hosts[0], hosts
        plotted = await page.locator("#latency-chart [data-bucket]").evaluate_all(
            "gs => gs.map(g => [Number(g.dataset.turns), g.querySelectorAll('rect').length])"
        )
        assert len(plotted) == 12, plotted
        assert sum(turns for turns, _ in plotted) == len(detail["turn_metrics"]), plotted
        assert all((turns > 0) == (rects > 0) for turns, rects in plotted), plotted
        assert not [m for m in browser.console if m.startswith(("error", "pageerror"))]


async def test_a_live_call_updates_and_is_ended_from_the_console(doubles, twilio_caller, launcher):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])
    async with BrowserCaller(None) as browser:
        await _sign_in(browser, launcher)
        call = asyncio.create_task(
            twilio_caller(launcher).run(
                [
                    WaitForBotSilence(timeout=15),
                    Wait(6),  # the console is open on the call before the caller speaks
                    Say(BOOKING),
                    WaitForBotSilence(timeout=15),
                    Wait(40),
                ]
            )
        )
        try:
            live = browser.page.locator('tr.call-row[data-status="active"]')
            await live.wait_for(timeout=20_000)
            call_id = await live.get_attribute("data-call-id")
            await live.click()
            await browser.wait_for_selector("#end-call")
            await browser.wait_for_function(
                "document.querySelectorAll('#transcript .turn').length > 0"
            )
            first = await browser.text("#transcript")
            assert "book an appointment" not in first.lower(), first
            await browser.wait_for_function(
                "document.getElementById('transcript').innerText.toLowerCase()"
                ".includes('book an appointment')",
                timeout=30,
            )
            await browser.wait_for_function(
                "document.getElementById('transcript').innerText.includes('Sure, what time?')",
                timeout=15,
            )
            await asyncio.sleep(2)  # the reply plays out
            await browser.page.click("#end-call")
            result = await asyncio.wait_for(call, timeout=30)
        finally:
            if not call.done():
                call.cancel()
        assert result.hung_up_by_bot and result.errors == [], result.errors
        goodbye = PhraseListener([DEFAULT_GOODBYE]).heard(result.bot_utterances[-1].pcm, 8000)
        assert goodbye == DEFAULT_GOODBYE
        await browser.wait_for_function(
            "document.querySelector('h1 [data-status]').dataset.status === 'ended'", timeout=15
        )
        assert await browser.page.locator("#end-call").count() == 0
        facts = await browser.text(".facts")
        assert "ended_by_api" in facts, facts
        assert not [m for m in browser.console if m.startswith(("error", "pageerror"))]
    final = (await _api(launcher, f"/calls/{call_id}")).json()
    assert final["end_reason"] == "ended_by_api"
