"""The phone media websocket under abuse (security issue F7, F8, F9), from outside the launcher.

Raw websocket clients speak (or mangle) Twilio's Media Streams protocol against a real launcher:
silent sockets, malformed handshakes, malformed messages inside a live call, and ``stop``.
"""

import asyncio
import json
import re
import time

import pytest
import websockets
from websockets.asyncio.client import connect

from simulators.callers import fuzz
from simulators.callers import media_streams as wire
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form
from tests.eventually import aeventually

SILENCE = b"\xff" * 160
pytestmark = pytest.mark.serial  # 1,000 handshakes and 50 calls: alone, not beside timing tests
HANDSHAKES = 1000  # seeded; with the in-call cases ~2,000 per run
IN_CALL_CALLS, IN_CALL_EACH = 50, 19  # under the limit of 20 malformed messages a call


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    env = {
        **doubles.env(),
        "MEDIA_HANDSHAKE_TIMEOUT_SECS": "1",
        "MEDIA_UNAUTHENTICATED_MAX": "5",
        "IDLE_HANGUP_SECS": "60",
    }
    with LauncherProcess(env) as running:
        yield running


async def _closed(ws, timeout: float) -> tuple[int | None, float]:
    """Wait for the server to close; (close code, seconds it took)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except websockets.exceptions.ConnectionClosed:
        pass
    return ws.close_code, time.monotonic() - started


async def test_silent_media_sockets_are_closed_after_handshake_timeout(launcher):
    url = f"{launcher.ws_url}/twilio/media"
    silent = [await connect(url) for _ in range(5)]
    one_too_many = await connect(url)
    code, took = await _closed(one_too_many, timeout=3)
    assert code == 1013 and took < 0.5, (code, took)  # 5 may wait for their start at once
    results = await asyncio.gather(*(_closed(ws, timeout=5) for ws in silent))
    assert all(code == 1008 and took < 2.5 for code, took in results), results
    assert "no start within 1s" in launcher.log()


async def test_malformed_handshakes_get_a_close_code_never_a_traceback(launcher):
    shapes = fuzz.handshakes(seed=16, count=HANDSHAKES)
    codes: dict[int | None, int] = {}

    async def one(first: str | bytes) -> None:
        async with connect(f"{launcher.ws_url}/twilio/media") as ws:
            try:
                await ws.send(wire_text(wire.connected()))
                await ws.send(first)
            except websockets.exceptions.ConnectionClosed:
                pass  # closed on the first message already
            code, _ = await _closed(ws, timeout=5)
            codes[code] = codes.get(code, 0) + 1

    for batch in range(0, len(shapes), 4):  # at most 5 may wait for their start at once
        await asyncio.gather(*(one(s) for s in shapes[batch : batch + 4]))
    assert set(codes) <= {1003, 1008} and sum(codes.values()) == len(shapes), codes
    log = launcher.log()
    assert log.count("twilio media stream refused") >= len(shapes)
    assert "Traceback" not in log
    assert launcher.get("/readyz").status_code == 200
    assert not any(c["active"] for c in launcher.get("/calls").json())


def wire_text(message: dict) -> str:
    return json.dumps(message)


class RawCall:
    """A phone call whose messages the test writes one by one."""

    def __init__(self, launcher, doubles):
        self.launcher, self.doubles = launcher, doubles
        self.account, self.call, self.stream = random_sid("AC"), random_sid("CA"), random_sid("MZ")
        self.seq = self.chunk = 0
        self.bot_media: list[float] = []

    async def __aenter__(self) -> "RawCall":
        form = voice_webhook_form(self.call, self.account, "+15005550006", "+15005550001")
        url = f"{self.launcher.base_url}/twilio/voice"
        twiml = await fetch_twiml(url, form, self.doubles.env()["TWILIO_AUTH_TOKEN"])
        self.ws = await connect(twiml.stream_url)
        await self.send(wire.connected())
        self.seq += 1
        await self.send(wire.start(self.seq, self.account, self.call, self.stream,
                                   twiml.parameters))
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        self.reader.cancel()

    async def send(self, message: dict | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def silence(self, seconds: float) -> None:
        for _ in range(int(seconds / 0.02)):
            self.seq, self.chunk = self.seq + 1, self.chunk + 1
            await self.send(wire.media(self.seq, self.chunk, self.stream, SILENCE))
            await asyncio.sleep(0.02)

    async def closed(self, timeout: float) -> tuple[int | None, float]:
        """Wait for the server to close the call; (close code, seconds it took)."""
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        except TimeoutError:
            pass
        return self.ws.close_code, time.monotonic() - started

    def heard_since(self, t: float) -> int:
        return sum(1 for at in self.bot_media if at >= t)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if json.loads(raw).get("event") == "media":
                    self.bot_media.append(time.monotonic())
        except websockets.exceptions.ConnectionClosed:
            pass


async def test_malformed_media_message_does_not_end_the_call(launcher, doubles):
    doubles.client.reset()
    async with RawCall(launcher, doubles) as call:
        await call.silence(1.0)
        for message in fuzz.FIXED_IN_CALL * 3:  # 18: under the limit of 20
            await call.send(message)
        mark = time.monotonic()
        await call.silence(4.0)
        assert call.heard_since(mark) > 20  # the greeting goes on: the call survived
        assert call.ws.close_code is None
        for message in fuzz.FIXED_IN_CALL * 2:  # past the limit: a goodbye, then the hang-up
            await call.send(message)
        code, took = await call.closed(timeout=15)
        assert code is not None and took < 15
    ended = [c for c in launcher.get("/calls").json() if c["end_reason"] == "malformed_media"]
    assert ended, launcher.get("/calls").json()
    assert "dropped a malformed Twilio media message" in launcher.log()


async def test_seeded_in_call_fuzz_never_ends_a_call(launcher, doubles):
    doubles.client.reset()

    async def one(seed: int) -> tuple[int | None, bool]:
        async with RawCall(launcher, doubles) as call:
            await call.silence(0.2)
            for message in fuzz.in_call(seed, IN_CALL_EACH, call.stream):
                await call.send(message)
                await call.silence(0.02)
            await call.silence(0.4)
            return call.ws.close_code, call.reader.done()

    results = []
    for batch in range(0, IN_CALL_CALLS, 5):
        results += await asyncio.gather(*(one(s) for s in range(batch, batch + 5)))
    assert results == [(None, False)] * IN_CALL_CALLS  # every call still up when the caller left
    log = launcher.log()
    # The log is there: an empty one would pass the absence checks below.
    assert re.search(r"\| call=(?!- )", log), log[-3000:]
    assert "Traceback" not in log
    assert launcher.proc.poll() is None and launcher.get("/readyz").status_code == 200


async def test_stop_ends_the_call_even_if_media_follows(launcher, doubles):
    doubles.client.reset()
    async with RawCall(launcher, doubles) as call:
        await call.silence(0.6)
        await call.send(wire.stop(call.seq + 1, call.account, call.call, call.stream))
        sender = asyncio.create_task(call.silence(6.0))  # media after stop is ignored
        code, took = await call.closed(timeout=8)
        sender.cancel()
        assert code is not None and took < 3, (code, took)

    def last_over() -> dict | None:
        last = max(launcher.get("/calls").json(), key=lambda c: c["started_at"])
        return None if last["active"] else last

    last = await aeventually(last_over, 5, "the last call to end")
    assert last["end_reason"] == "caller_hung_up", last
