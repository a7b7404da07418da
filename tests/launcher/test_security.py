"""The public entry points under abuse, observed from outside the launcher process.

Regression tests named after the findings of the security probe (the security issue): a
browser offer naming its own call id (F1), offers that fill the lines (F3) or start worker
processes (F4), malformed offers answered with 500s and tracebacks (F5), unsigned phone webhooks
in production (F6), log injection through a ``CallSid`` (F10), an API key in a URL (F11) and an
oversized chunked body (F12).
"""

import asyncio
import re
from collections import Counter

import httpx
import psutil
import pytest

from simulators.callers.offers import JUNK_OFFERS, sdp_offer
from simulators.callers.script import Say, WaitForBotSilence
from simulators.callers.twiml import twilio_signature
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

KEY = {"X-API-Key": API_KEY}
pytestmark = pytest.mark.serial  # floods of 1,020 offers: alone, not beside timing tests
OUR_CALL_ID = re.compile(r"call_[0-9a-f]{20}")


@pytest.fixture(scope="module")
def guarded(doubles, tmp_path_factory):
    """Production, calls in one worker process, two lines, a 2 s connect timeout, recording on,
    and no per-client limits (so the floods below reach the offer checks)."""
    data = tmp_path_factory.mktemp("data")
    env = production_env(doubles, MAX_BODY_BYTES=str(256 * 1024))
    env |= {
        "DATA_DIR": str(data),
        "PROCESS_MODEL": "workers",
        "WORKERS": "1",
        "WORKER_MAX_CALLS": "20",
        "MAX_CONCURRENT_CALLS": "2",
        "CONNECT_TIMEOUT_SECS": "2",
        "RECORDING_ENABLED": "true",
        "CLIENT_OFFERS_PER_MINUTE": "0",
        "CLIENT_MAX_CALLS": "0",
        "ANONYMOUS_CALLS": "true",
        "SWITCHBOARD_ICE_LOOPBACK_ONLY": "1",
    }
    with LauncherProcess(env, startup_timeout=120) as running:
        running.data_dir = data
        yield running


async def _offer(launcher, sdp: str, **request_data: str) -> httpx.Response:
    data = {"persona": "receptionist", **request_data}
    body = {"sdp": sdp, "type": "offer", "request_data": data}
    async with httpx.AsyncClient(base_url=launcher.base_url, timeout=30) as client:
        return await client.post("/api/offer", json=body)


async def _all_ended(launcher, timeout: float = 10.0) -> list[dict]:
    def all_over() -> list[dict] | None:
        calls = launcher.get("/calls", headers=KEY).json()
        return calls if calls and not any(c["active"] for c in calls) else None

    return await aeventually(all_over, timeout, "every call to end", every=0.2)


def _workers(launcher) -> set[int]:
    return {p.pid for p in psutil.Process(launcher.proc.pid).children()}


async def test_offer_cannot_choose_call_id_or_write_outside_recordings(guarded, tmp_path):
    target = tmp_path / "pwned"
    response = await _offer(guarded, await sdp_offer(), call_id="../" * 12 + str(target)[1:])
    assert response.status_code == 200, response.text
    calls = await _all_ended(guarded)
    assert calls and all(OUR_CALL_ID.fullmatch(c["call_id"]) for c in calls), calls
    assert not list(tmp_path.iterdir())  # nothing written where the offer pointed
    recordings = guarded.data_dir / "recordings"
    stray = [p for p in guarded.data_dir.rglob("*.wav") if p.parent != recordings]
    assert stray == [] and all(OUR_CALL_ID.fullmatch(p.stem) for p in recordings.glob("*"))


async def test_an_offer_that_never_connects_releases_its_line(guarded):
    sdps = [await sdp_offer() for _ in range(2)]
    first, second = await asyncio.gather(*(_offer(guarded, sdp) for sdp in sdps))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    full = await _offer(guarded, await sdp_offer())
    assert full.status_code == 429 and int(full.headers["Retry-After"]) > 0, full.text
    calls = await _all_ended(guarded, timeout=8)  # CONNECT_TIMEOUT_SECS=2
    assert {c["end_reason"] for c in calls[:2]} == {"never_connected"}, calls
    assert (await _offer(guarded, await sdp_offer())).status_code == 200  # the lines are free
    await _all_ended(guarded, timeout=8)


async def test_junk_offers_do_not_hold_slots_or_spawn_workers(guarded, doubles, twilio_caller):
    workers = _workers(guarded)
    assert len(workers) == 1
    statuses: Counter[int] = Counter()
    limit = asyncio.Semaphore(20)

    async def junk(client: httpx.AsyncClient, i: int) -> None:
        async with limit:
            response = await client.post("/api/offer", json=JUNK_OFFERS[i % len(JUNK_OFFERS)])
            statuses[response.status_code] += 1

    async with httpx.AsyncClient(base_url=guarded.base_url, timeout=30) as client:
        for count in (20, 1000):
            await asyncio.gather(*(junk(client, i) for i in range(count)))
            assert _workers(guarded) == workers
            assert guarded.get("/readyz").status_code == 200
    assert statuses == Counter({400: 1020}), statuses
    assert not any(c["active"] for c in guarded.get("/calls", headers=KEY).json())
    log = guarded.log()
    # The log is there: an empty one would pass the absence checks below.
    assert '"POST /api/offer HTTP/1.1" 400' in log, log[-3000:]
    assert "Traceback" not in log

    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])
    caller = twilio_caller(guarded)
    result = await caller.run(
        [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
    )
    assert result.connected and not result.errors, result.to_dict()
    assert result.voice_to_voice_secs and result.voice_to_voice_secs[0], result.to_dict()


@pytest.fixture(scope="module")
def limited(doubles):
    """Production with small per-client limits: 6 offers a minute, 2 browser calls at once."""
    env = production_env(doubles)
    env |= {
        "CLIENT_OFFERS_PER_MINUTE": "6",
        "CLIENT_MAX_CALLS": "2",
        "ANONYMOUS_CALLS": "true",
        "CONNECT_TIMEOUT_SECS": "30",
        "SWITCHBOARD_ICE_LOOPBACK_ONLY": "1",
    }
    with LauncherProcess(env) as running:
        yield running


async def test_one_client_cannot_take_every_line(limited, doubles):
    first, second = [await _offer(limited, await sdp_offer()) for _ in range(2)]
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    third = await _offer(limited, await sdp_offer())
    assert third.status_code == 429 and "at once" in third.json()["detail"], third.text
    assert int(third.headers["Retry-After"]) > 0
    codes = [(await _offer(limited, "x")).status_code for _ in range(6)]
    assert codes[:3] == [400] * 3 and codes[3:] == [429] * 3, codes  # 6 a minute in all
    # Phone calls (other callers) still get a line: the launcher has 20.
    form = {"CallSid": "CA" + "1" * 32, "From": "+15005550006", "To": "+15005550001"}
    url = f"{limited.base_url}/twilio/voice"
    signature = twilio_signature(doubles.env()["TWILIO_AUTH_TOKEN"], url, form)
    answer = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200 and "<Stream" in answer.text, answer.text


def test_callsid_newlines_cannot_forge_log_lines(limited, doubles):
    forged = "2026-01-01 00:00:00.000 | ERROR    | call=- | forged:line - the database is gone"
    form = {"CallSid": f"CA42\n{forged}", "From": "+15005550006", "To": "+15005550001"}
    url = f"{limited.base_url}/twilio/voice"
    signature = twilio_signature(doubles.env()["TWILIO_AUTH_TOKEN"], url, form)
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}).status_code == 200
    lines = limited.log().splitlines()
    assert any("CA42\\n2026-01-01" in line for line in lines)  # logged, escaped
    assert not any(line.startswith(forged[:30]) for line in lines)


def test_api_key_in_a_url_is_refused_and_never_logged(limited):
    response = limited.get(f"/calls?api_key={API_KEY}")
    assert response.status_code == 400 and "header" in response.json()["detail"]
    assert limited.get(f"/calls?limit=5&key={API_KEY}", headers=KEY).status_code == 400
    log = limited.log()
    assert "api_key=%5Bredacted%5D" in log  # uvicorn's access line, without the key
    assert API_KEY not in log


def test_production_refuses_unsigned_phone_webhooks(doubles):
    env = production_env(doubles, TWILIO_AUTH_TOKEN="", TWILIO_ACCOUNT_SID="")
    with LauncherProcess(env) as launcher:
        form = {"CallSid": "CA" + "2" * 32, "From": "+15005550006", "To": "+15005550001"}
        voice = httpx.post(f"{launcher.base_url}/twilio/voice?persona=companion", data=form)
        status = httpx.post(f"{launcher.base_url}/twilio/status", data=form)
        assert voice.status_code == status.status_code == 403, (voice.text, status.text)
        assert "TWILIO_AUTH_TOKEN" in voice.json()["detail"]
        assert "phone routes refuse every call" in launcher.log()


def test_oversized_chunked_body_gets_413(limited):
    def chunks():
        for _ in range(64):
            yield b"x" * 8192  # 512 KiB, no Content-Length

    response = httpx.post(f"{limited.base_url}/api/offer", content=chunks())
    assert response.status_code == 413, response.text
