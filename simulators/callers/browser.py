"""A browser caller: headless Debian Chromium whose microphone plays a WAV file.

Driven by Python Playwright, but using the system ``/usr/bin/chromium`` (never run
``playwright install``). Chromium's fake capture device plays ``mic_wav`` (looping unless
``loop=False``), media permission prompts are auto-accepted, autoplay is allowed and WebRTC may
use loopback candidates.

For WebRTC to stay on 127.0.0.1 the *server* side (aiortc/aioice) must also offer loopback
candidates: call :func:`loopback_only_ice` when the launcher runs in the test process, or start a
launcher subprocess with ``SWITCHBOARD_ICE_LOOPBACK_ONLY=1`` (the launcher honours that variable).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright

CHROMIUM = "/usr/bin/chromium"
ICE_LOOPBACK_ENV = "SWITCHBOARD_ICE_LOOPBACK_ONLY"

BASE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
)


def loopback_only_ice() -> Callable[[], None]:
    """Make aioice (aiortc's ICE) gather only the 127.0.0.1 host candidate, in this process.

    aioice normally skips loopback, so an in-process SmallWebRTC server and a local Chromium would
    pair over the machine's external interface. Apply before the server creates peer connections.

    Returns:
        A function that restores the original behaviour.
    """
    import aioice.ice

    original = aioice.ice.get_host_addresses

    def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = _loopback

    def restore() -> None:
        aioice.ice.get_host_addresses = original

    return restore


class BrowserCaller:
    """Headless Chromium with a WAV as its microphone.

    Example:
        >>> async with BrowserCaller("/tmp/hello.wav") as browser:
        ...     await browser.open("http://127.0.0.1:7860/client")
        ...     await browser.wait_for_text("connected")
        ...     level = await browser.evaluate("window.micLevel")

    Args:
        mic_wav: WAV played by the fake microphone (16 kHz mono works). None: Chromium's beep.
        loop: Loop the WAV (Chromium's default); False appends ``%noloop``.
        headless: Run without a display (the default; Debian servers have none).
        extra_args: More Chromium switches.
        executable_path: The Chromium binary.
        default_timeout: Playwright's default timeout for waits, in seconds.
    """

    def __init__(
        self,
        mic_wav: str | Path | None = None,
        *,
        loop: bool = True,
        headless: bool = True,
        extra_args: Sequence[str] = (),
        executable_path: str = CHROMIUM,
        default_timeout: float = 15.0,
    ):
        self.mic_wav = Path(mic_wav).resolve() if mic_wav is not None else None
        self.loop = loop
        self.headless = headless
        self.extra_args = list(extra_args)
        self.executable_path = executable_path
        self.default_timeout = default_timeout
        self.console: list[str] = []
        self._pw: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._profile: str | None = None

    @property
    def args(self) -> list[str]:
        """The Chromium command-line switches used (besides Playwright's own)."""
        args = list(BASE_ARGS)
        if self.mic_wav is not None:
            suffix = "" if self.loop else "%noloop"
            args.append(f"--use-file-for-fake-audio-capture={self.mic_wav}{suffix}")
        return args + self.extra_args

    @property
    def page(self) -> Page:
        """The browser tab."""
        if self._page is None:
            raise RuntimeError("BrowserCaller is not started")
        return self._page

    async def start(self) -> BrowserCaller:
        """Launch Chromium with a fresh profile directory."""
        if not Path(self.executable_path).exists():
            raise RuntimeError(f"{self.executable_path} not found (apt-get install chromium)")
        if self.mic_wav is not None and not self.mic_wav.exists():
            raise FileNotFoundError(self.mic_wav)
        self._profile = tempfile.mkdtemp(prefix="switchboard-chromium-")
        self._pw = await async_playwright().start()
        try:
            self._context = await self._pw.chromium.launch_persistent_context(
                self._profile,
                executable_path=self.executable_path,
                headless=self.headless,
                args=self.args,
            )
        except BaseException:
            await self.close()
            raise
        self._context.set_default_timeout(self.default_timeout * 1000)
        pages = self._context.pages
        self._page = pages[0] if pages else await self._context.new_page()
        self._page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self._page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        logger.debug(f"chromium started (profile {self._profile})")
        return self

    async def open(self, url: str, wait_until: str = "load") -> Page:
        """Navigate the tab to ``url``."""
        await self.page.goto(url, wait_until=wait_until)  # type: ignore[arg-type]
        return self.page

    async def wait_for_selector(self, selector: str, timeout: float | None = None) -> None:
        """Wait until ``selector`` is visible."""
        await self.page.wait_for_selector(selector, timeout=self._ms(timeout))

    async def wait_for_text(self, text: str, timeout: float | None = None) -> None:
        """Wait until ``text`` appears anywhere on the page."""
        await self.page.get_by_text(text).first.wait_for(timeout=self._ms(timeout))

    async def wait_for_function(
        self, expression: str, arg: Any = None, timeout: float | None = None
    ) -> Any:
        """Wait until a JS expression/function is truthy and return its value."""
        handle = await self.page.wait_for_function(expression, arg=arg, timeout=self._ms(timeout))
        return await handle.json_value()

    async def text(self, selector: str) -> str:
        """The ``innerText`` of the first element matching ``selector``."""
        return await self.page.locator(selector).first.inner_text()

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate JS in the page and return the (JSON-able) result."""
        return await self.page.evaluate(expression, arg)

    async def close(self) -> None:
        """Close the browser, stop Playwright's driver and delete the profile."""
        if self._context is not None:
            try:
                await self._context.close()
            except Exception as e:  # closing must not mask the test's own error
                logger.warning(f"closing chromium: {e!r}")
            self._context = None
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
        self._page = None

    async def __aenter__(self) -> BrowserCaller:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _ms(self, timeout: float | None) -> float:
        return (self.default_timeout if timeout is None else timeout) * 1000
