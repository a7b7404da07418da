"""``python -m bench security``: the public entry points under a big, seeded abuse run.

Against the real launcher (production mode, workers, the doubles) it sends junk browser offers,
malformed media-stream handshakes and malformed in-call messages, while one normal phone call
runs, then reports what the launcher did: status and close codes, 5xx, tracebacks in its log,
worker processes before and after, ``/readyz``, and whether the normal call completed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets
from websockets.asyncio.client import connect

from bench.report import write_json
from bench.stack import running_stack
from simulators.callers import fuzz
from simulators.callers import media_streams as wire
from simulators.callers.api_fuzz import access_statuses, schemathesis_runs
from simulators.callers.offers import JUNK_OFFERS
from simulators.callers.script import Say, WaitForBotSilence
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form
from tests.bots.scenario import BOOKING

API_KEY = "sk-bench-security-0123456789abcdef"
PRODUCTION = {
    "ENV": "production",
    "SWITCHBOARD_API_KEY": API_KEY,
    "MEDIA_TOKEN_SECRET": "bench-media-token-secret-0123456789",
    "CLIENT_OFFERS_PER_MINUTE": "0",  # let every junk offer reach the checks
    "CLIENT_WEBHOOKS_PER_MINUTE": "0",
    "ANONYMOUS_CALLS": "true",
    "MEDIA_HANDSHAKE_TIMEOUT_SECS": "2",
    "LIVEKIT_API_SECRET": "bench-livekit-secret-0123456789abcdef",
}


@dataclass
class SecurityConfig:
    """What ``python -m bench security`` sends."""

    offers: int = 1000
    handshakes: int = 2000
    in_call_messages: int = 10_000
    schema_examples: int = 1500  # per operation and pass (with and without the key)
    seed: int = 16
    out: Path = Path("bench/results")


async def _offers(base: str, count: int) -> Counter[int]:
    codes: Counter[int] = Counter()
    limit = asyncio.Semaphore(20)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one(i: int) -> None:
            async with limit:
                response = await client.post("/api/offer", json=JUNK_OFFERS[i % len(JUNK_OFFERS)])
                codes[response.status_code] += 1

        await asyncio.gather(*(one(i) for i in range(count)))
    return codes


async def _handshakes(ws_url: str, shapes: list[str | bytes]) -> Counter[int | None]:
    codes: Counter[int | None] = Counter()

    async def one(first: str | bytes) -> None:
        async with connect(f"{ws_url}/twilio/media") as ws:
            try:
                await ws.send(json.dumps(wire.connected()))
                await ws.send(first)
                async with asyncio.timeout(10):
                    async for _ in ws:
                        pass
            except (websockets.exceptions.ConnectionClosed, TimeoutError):
                pass
            codes[ws.close_code] += 1

    for batch in range(0, len(shapes), 50):
        await asyncio.gather(*(one(s) for s in shapes[batch : batch + 50]))
    return codes


async def _in_call(base: str, token: str, messages: int, seed: int) -> dict[str, int]:
    """Calls of 19 malformed messages each (under the limit of 20): how many stayed up."""
    survived = ended = 0

    async def one(call_seed: int) -> None:
        nonlocal survived, ended
        account, call, stream = random_sid("AC"), random_sid("CA"), random_sid("MZ")
        form = voice_webhook_form(call, account, "+15005550006", "+15005550001")
        twiml = await fetch_twiml(f"{base}/twilio/voice", form, token)
        async with connect(twiml.stream_url) as ws:
            await ws.send(json.dumps(wire.connected()))
            await ws.send(json.dumps(wire.start(1, account, call, stream, twiml.parameters)))
            for i, message in enumerate(fuzz.in_call(call_seed, 19, stream)):
                await ws.send(message)
                await ws.send(json.dumps(wire.media(i + 2, i + 1, stream, b"\xff" * 160)))
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            survived, ended = (survived + 1, ended) if ws.close_code is None else (
                survived, ended + 1
            )

    calls = max(1, messages // 19)
    for batch in range(0, calls, 10):
        await asyncio.gather(*(one(seed + c) for c in range(batch, min(batch + 10, calls))))
    return {"calls": calls, "messages": calls * 19, "survived": survived, "ended": ended}


async def _normal_call(base: str, token: str) -> bool:
    caller = TwilioCaller(webhook_url=f"{base}/twilio/voice", auth_token=token)
    result = await caller.run(
        [WaitForBotSilence(timeout=20), Say(BOOKING), WaitForBotSilence(timeout=20)]
    )
    return bool(result.connected and not result.errors and any(result.voice_to_voice_secs))


def _prepare(client: Any) -> None:
    client.stt_phrases([BOOKING])
    client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])


async def _run(cfg: SecurityConfig, stack: Any) -> dict[str, Any]:
    launcher = stack.launcher
    token = stack.doubles.env()["TWILIO_AUTH_TOKEN"]
    workers = {p.pid for p in psutil.Process(launcher.proc.pid).children()}
    started = time.monotonic()
    normal = asyncio.create_task(_normal_call(launcher.base_url, token))
    offers = await _offers(launcher.base_url, cfg.offers)
    handshakes = await _handshakes(launcher.ws_url, fuzz.handshakes(cfg.seed, cfg.handshakes))
    in_call = await _in_call(launcher.base_url, token, cfg.in_call_messages, cfg.seed)
    before = access_statuses(launcher.log())
    runs = await asyncio.to_thread(
        schemathesis_runs, launcher.base_url, cfg.schema_examples, cfg.seed, API_KEY
    )
    log = launcher.log()
    schema_statuses = access_statuses(log) - before
    return {
        "schemathesis": {
            "requests": sum(schema_statuses.values()),
            "statuses": dict(schema_statuses),
            "exit_codes": [code for code, _ in runs],
        },
        "offers": {str(k): v for k, v in offers.items()},
        "handshakes": {str(k): v for k, v in handshakes.items()},
        "in_call": in_call,
        "normal_call_completed": await normal,
        "tracebacks": log.count("Traceback"),
        "launcher_alive": launcher.proc.poll() is None,
        "workers_unchanged": workers == {
            p.pid for p in psutil.Process(launcher.proc.pid).children()
        },
        "readyz": launcher.get("/readyz").status_code,
        "seconds": round(time.monotonic() - started, 1),
    }


def run_security(cfg: SecurityConfig) -> int:
    """Run the abuse, print the counts, write ``bench/results/security-*.json``."""
    with running_stack({}, PRODUCTION, _prepare) as stack:
        report = asyncio.run(_run(cfg, stack))
    report["config"] = {k: str(v) for k, v in vars(cfg).items()}
    path = write_json(cfg.out / f"security-{time.strftime('%Y%m%d-%H%M%S')}.json", report)
    print(json.dumps(report, indent=2))
    print(f"written {path}")
    offer_5xx = sum(v for k, v in report["offers"].items() if k.startswith("5"))
    clean = (
        offer_5xx == 0
        and report["schemathesis"]["statuses"].get("5xx", 0) == 0
        and report["tracebacks"] == 0
        and report["launcher_alive"]
        and report["workers_unchanged"]
        and report["in_call"]["ended"] == 0
        and report["normal_call_completed"]
    )
    return 0 if clean else 1


def add_security_parser(sub: Any) -> None:
    """``python -m bench security`` and its options."""
    p = sub.add_parser("security", help="junk offers, malformed handshakes and in-call messages")
    p.add_argument("--offers", type=int, default=1000, help="junk browser offers")
    p.add_argument("--handshakes", type=int, default=2000, help="malformed stream handshakes")
    p.add_argument("--in-call", type=int, default=10_000, help="malformed in-call messages")
    p.add_argument("--schema-examples", type=int, default=1500,
                   help="schemathesis examples per operation and pass")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    p.add_argument("--log-level", default="WARNING")
