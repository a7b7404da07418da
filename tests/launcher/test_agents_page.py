"""The agents page in a real Chromium: an edit saved there is what the next call says.

One production launcher, its calls in a worker process (``WORKERS=1``: the process that served
a call before the edit serves the one after it, so nothing may be cached there). The simulated
Twilio caller hears the greeting as audio (pocketsphinx over a grammar of the candidates).
"""


import httpx
import psutil
import pytest

from simulators.callers.browser import BrowserCaller
from simulators.callers.listen import PhraseListener
from simulators.callers.mic import mic_track
from simulators.callers.script import WaitForBotSilence
from tests.eventually import aeventually
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

KEY = {"Authorization": f"Bearer {API_KEY}"}
BEFORE = "Welcome to the green garden shop, how may we help you today?"
AFTER = "Hello from the blue river bakery, what would you like to order?"
FILE_GREETING = "thank you for calling bright smile dental this is ava how can i help you today"
HEARD = {
    BEFORE: "welcome to the green garden shop how may we help you today",
    AFTER: "hello from the blue river bakery what would you like to order",
}


@pytest.fixture(scope="module")
def launcher(doubles):
    env = production_env(
        doubles,
        PROCESS_MODEL="workers",
        WORKERS="1",
        SWITCHBOARD_ICE_LOOPBACK_ONLY="1",
        MAX_BODY_BYTES=str(256 * 1024),  # a browser's SDP offer is larger than the 4 KB there
    )
    with LauncherProcess(env) as running:
        yield running


def _api(launcher, method: str, path: str, **kwargs) -> httpx.Response:
    url = f"{launcher.base_url}/agent-configs{path}"
    return httpx.request(method, url, headers=KEY, timeout=20, **kwargs)


async def _greeting_heard(twilio_caller, launcher) -> tuple[str, str]:
    """Phone acme's receptionist, hang up after the greeting; what was heard, and the call id."""
    before = {c["call_id"] for c in _calls(launcher)}
    caller = twilio_caller(launcher, persona="receptionist", tenant="acme")
    result = await caller.run([WaitForBotSilence(timeout=20)])
    assert result.connected and result.errors == [], result.errors
    listener = PhraseListener([*HEARD.values(), FILE_GREETING])
    heard = listener.heard(result.bot_utterances[0].pcm, result.sample_rate)
    [call_id] = [c["call_id"] for c in _calls(launcher) if c["call_id"] not in before]
    return heard, call_id


def _calls(launcher) -> list[dict]:
    return launcher.get("/calls", headers=KEY).json()


def _workers(launcher) -> list[int]:
    return [p.pid for p in psutil.Process(launcher.proc.pid).children()]


async def _field_error(browser: BrowserCaller, field: str) -> str:
    selector = f'#form .field[data-field="{field}"] > .err'
    await browser.wait_for_function(
        "(s) => document.querySelector(s).textContent.length > 0", selector
    )
    return await browser.text(selector)


async def _sign_in(browser: BrowserCaller, launcher) -> None:
    await browser.open(f"{launcher.base_url}/agents")
    await browser.wait_for_text("The API key was refused or is missing")  # production: no key
    await browser.page.fill("#api-key", API_KEY)
    await browser.page.click("#use-key")
    assert await browser.evaluate("sessionStorage.getItem('switchboard.apiKey')") == API_KEY


async def test_a_greeting_edited_in_the_page_is_what_the_next_call_hears(
    doubles, twilio_caller, launcher, tmp_path
):
    doubles.client.reset()
    [worker] = _workers(launcher)  # calls run there, never in the launcher
    assert _api(launcher, "PUT", "/acme/receptionist", json={"greeting": BEFORE}).is_success
    heard, first = await _greeting_heard(twilio_caller, launcher)
    assert heard == HEARD[BEFORE], heard

    async with BrowserCaller(mic_track(tmp_path / "mic.wav", [], total=2)) as browser:
        await _sign_in(browser, launcher)
        row = '#configs tr[data-tenant="acme"][data-persona="receptionist"]'
        await browser.wait_for_selector(row)
        await browser.page.click(row)
        assert await browser.page.input_value("#f-greeting") == BEFORE
        # A bad value is refused by the server and shown at its field; nothing is stored.
        await browser.page.fill("#f-greeting", AFTER)
        await browser.page.fill("#t-max_wait_secs", "9")
        await browser.page.click("#save")
        error = await _field_error(browser, "turns.max_wait_secs")
        assert "less than or equal to 4" in error, error
        assert "Not saved" in await browser.text("#notice")
        assert _api(launcher, "GET", "/acme/receptionist").json()["greeting"] == BEFORE
        # Fixed and saved: the page says so, and the row is the page's.
        await browser.page.fill("#t-max_wait_secs", "")
        await browser.page.click("#save")
        await browser.wait_for_text("Saved acme · receptionist")
        assert await browser.evaluate("window.agents.saves") == 1
        cleared = "[...document.querySelectorAll('#form .err')].every((e) => !e.textContent)"
        assert await browser.evaluate(cleared)
        stored = _api(launcher, "GET", "/acme/receptionist").json()
        assert (stored["greeting"], stored["turns"]) == (AFTER, {})
        assert [c for c in browser.console if c.startswith("pageerror")] == []

    heard, second = await _greeting_heard(twilio_caller, launcher)  # no restart in between
    assert heard == HEARD[AFTER], heard
    assert _workers(launcher) == [worker]  # the same worker process took both calls
    tenants = {c["call_id"]: c["tenant"] for c in _calls(launcher)}
    assert (tenants[first], tenants[second]) == ("acme", "acme")


async def test_test_call_opens_a_browser_call_as_that_tenant(doubles, launcher, tmp_path):
    doubles.client.reset()
    assert _api(launcher, "PUT", "/acme/receptionist", json={"greeting": AFTER}).is_success
    wav = mic_track(tmp_path / "mic.wav", [], total=20)
    async with BrowserCaller(wav, loop=False) as browser:
        await _sign_in(browser, launcher)
        row = '#configs tr[data-tenant="acme"][data-persona="receptionist"]'
        await browser.wait_for_selector(row)
        await browser.page.click(row)
        async with browser.page.context.expect_page() as opened:
            await browser.page.click("#test-call")
        call_page = await opened.value
        await call_page.wait_for_load_state()
        assert "persona=receptionist" in call_page.url and "session=" in call_page.url
        await call_page.wait_for_function("document.querySelectorAll('#persona option').length > 0")
        await call_page.click("#connect")
        try:
            await call_page.wait_for_function(
                "(g) => document.getElementById('transcript').textContent.includes(g)",
                arg=AFTER,
                timeout=30_000,
            )
        except Exception:
            transcript = await call_page.locator("#transcript").inner_text()
            raise AssertionError(f"the tenant's greeting never came: {transcript!r}") from None
        first_line = await call_page.locator("#transcript .turn").first.inner_text()
        assert first_line.replace("\n", "").startswith(f"Bot:{AFTER}"), first_line
        await call_page.click("#connect")  # hang up

    def ended_web_calls() -> list[dict] | None:
        web = [c for c in _calls(launcher) if c["transport"] == "webrtc"]
        return web if web and not web[0]["active"] else None

    [call] = await aeventually(ended_web_calls, 15, "the browser call to end", every=0.2)
    assert call["tenant"] == "acme" and call["persona"] == "receptionist", call
    assert not call["active"]
