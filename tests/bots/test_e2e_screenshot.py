"""Device tools end to end in headless Chromium on the launcher's page.

``take_screenshot``: the bot asks the page over RTVI, the page calls ``getDisplayMedia`` and
answers one JPEG frame, and the next LLM request carries it as an OpenAI image part. Headless
Chromium has no display to capture and no picker to answer, so the browser runs with
``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream``
(simulators/callers/browser.py): the page's real ``getDisplayMedia`` call is auto-accepted and
Chromium's fake capture device supplies the "screen" (a 1280x720 test pattern). The page, the
data channel, the bridge and the LLM context are real; only the pixels are Chromium's test pattern.

Flashlight and vibrate: headless desktop Chromium has neither, and the page says so. The mobile
path of ``vibrate`` runs in Playwright's Android device emulation (real ``navigator.vibrate``
on an emulated phone; nothing physically vibrates).
"""

import base64
import io
import json

import pytest
from PIL import Image
from playwright.async_api import async_playwright

from simulators.callers.browser import BASE_ARGS, CHROMIUM, BrowserCaller
from simulators.callers.mic import mic_track
from tests.bots.test_e2e_browser import _talk
from tools.screenshot import IMAGE_NOTE, NO_VISION

SCREEN_Q = "can you look at my screen"
SCREEN_A = "I can see your screen now."
SHOT = {"name": "take_screenshot", "arguments": {}}
TORCH = {"name": "set_flashlight", "arguments": {"on": True}}
FLASH_Q = "turn on my flashlight"
FLASH_A = "Your flashlight could not be switched on."
FLASH_REFUSAL = "this device has no flashlight the browser can switch"


@pytest.fixture
def page_launcher(doubles, launcher_factory):
    doubles.client.reset()
    return launcher_factory(SWITCHBOARD_ICE_LOOPBACK_ONLY="1", CLIENT_TOOL_TIMEOUT_SECS="8")


def _images(requests: list[dict]) -> list[tuple[int, dict]]:
    """(request index, image part) for every image part any LLM request carried."""
    return [
        (i, part)
        for i, r in enumerate(requests)
        for m in r["messages"]
        if isinstance(m.get("content"), list)
        for part in m["content"]
        if part.get("type") == "image_url"
    ]


def _tool_results(requests: list[dict]) -> list[dict]:
    return [
        json.loads(m["content"]) for r in requests for m in r["messages"] if m["role"] == "tool"
    ]


async def test_screenshot_reaches_the_llm_as_an_image(doubles, page_launcher, tmp_path):
    doubles.client.stt_phrases([SCREEN_Q, FLASH_Q])
    doubles.client.llm_rules([
        {"match": IMAGE_NOTE, "reply": SCREEN_A},
        {"match": "look at my screen", "tool_calls": [SHOT]},
        {"match": "flashlight", "tool_calls": [TORCH]},
        {"after_tool": "set_flashlight", "reply": FLASH_A},
    ])  # fmt: skip
    wav = mic_track(tmp_path / "mic.wav", [(8.0, SCREEN_Q), (19.0, FLASH_Q)], total=28)
    seen = await _talk(page_launcher, "companion", wav, seconds=28)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    requests = doubles.client.llm_requests()
    images = _images(requests)
    # One screenshot; it stays in the conversation, so later requests carry it again.
    assert len({p["image_url"]["url"] for _, p in images}) == 1, len(images)
    index, part = images[0]
    url = part["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,"), url[:40]
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        assert image.format == "JPEG"
        assert 320 <= image.width <= 1280 and 180 <= image.height <= 1280, image.size
    # The image came with the tool's result, in the request right after the tool call.
    last = requests[index]["messages"]
    assert last[-2]["role"] == "tool" and json.loads(last[-2]["content"])["status"] == "shared"
    assert last[-1]["role"] == "user" and last[-1]["content"][0]["text"] == IMAGE_NOTE
    assert any(SCREEN_A in ln for ln in lines), lines
    # Desktop Chromium has no torch: the page refuses, and the refusal reaches the LLM.
    assert {"error": FLASH_REFUSAL} in _tool_results(requests)
    assert any(FLASH_A in ln for ln in lines), lines
    assert [c for c in seen["console"] if c.startswith("pageerror")] == []


async def test_screenshot_is_refused_aloud_when_the_llm_takes_no_images(
    doubles, launcher_factory, tmp_path
):
    doubles.client.reset()
    launcher = launcher_factory(  # Groq's default model (llama-3.3-70b-versatile) reads text only
        SWITCHBOARD_ICE_LOOPBACK_ONLY="1", LLM_PROVIDER="groq"
    )
    doubles.client.stt_phrases([SCREEN_Q])
    doubles.client.llm_rules([
        {"match": "look at my screen", "tool_calls": [SHOT]},
    ])  # fmt: skip
    wav = mic_track(tmp_path / "mic.wav", [(8.0, SCREEN_Q)], total=20)
    seen = await _talk(launcher, "companion", wav, seconds=20)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    assert any(NO_VISION in ln for ln in lines), lines  # said in full on the page
    requests = doubles.client.llm_requests()
    assert requests and all("llama" in r["model"] for r in requests)
    assert _images(requests) == []
    asked = [e for e in seen["events"] if e["type"] == "server-message"]
    assert asked == []  # the page was never asked to share a screen
    assert seen["connection"] not in ("closed", "failed", "disconnected")


async def test_desktop_chromium_refuses_flashlight_and_vibrate(doubles, page_launcher):
    async with BrowserCaller() as browser:
        await browser.open(f"{page_launcher.base_url}/")
        run = "([n, a]) => SwitchboardDevice.run(n, a)"
        flash = await browser.page.evaluate(run, ["set_flashlight", {"on": True}])
        buzz = await browser.page.evaluate(run, ["vibrate", {"milliseconds": 300}])
        off = await browser.page.evaluate(run, ["set_flashlight", {"on": False}])
    assert flash == {"error": FLASH_REFUSAL}
    assert buzz == {"error": "this device cannot vibrate"}
    assert off == {"flashlight": "off"}


async def test_vibrate_runs_on_an_emulated_phone(doubles, page_launcher):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(BASE_ARGS)
        )
        try:
            context = await browser.new_context(**pw.devices["Pixel 7"])
            page = await context.new_page()
            await page.goto(f"{page_launcher.base_url}/")
            run = "([n, a]) => SwitchboardDevice.run(n, a)"
            await page.tap("h1")  # vibration needs a user gesture first, as on a real phone
            after = await page.evaluate(run, ["vibrate", {"milliseconds": 300}])
            mobile = await page.evaluate("SwitchboardDevice.isMobile()")
        finally:
            await browser.close()
    assert mobile is True
    assert after == {"vibrated_ms": 300}
