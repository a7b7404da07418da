"""Run simulated Twilio callers against the launcher: many at once (ramped) or one by one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from bench import scenario
from bench.gc_pause import no_collector_pauses
from bench.prom import ACTIVE_CALLS, parse_metrics
from bench.stack import Stack
from simulators.callers.result import CallResult
from simulators.callers.twilio import TwilioCaller


@dataclass
class CallOutcome:
    """One simulated call and how it went.

    Attributes:
        index: Caller number (0-based, in start order).
        turns: Caller turns the script asked for.
        started_at: Seconds after the run began that the caller dialled.
        exchanges: What the caller said on each turn, with the expected replies.
        result: What the caller measured (None if the caller itself crashed).
        exception: The caller's crash, if any.
    """

    index: int
    turns: int
    started_at: float
    exchanges: list[scenario.Exchange] = field(default_factory=list)
    result: CallResult | None = None
    exception: str | None = None

    @property
    def failure(self) -> str | None:
        """Why the call counts as failed, or None if it did everything the script asked."""
        r = self.result
        if r is None:
            return f"caller crashed: {self.exception}"
        if r.rejected:
            return f"rejected: {r.rejected_text}"
        if not r.connected:
            return "; ".join(r.errors) or "never connected"
        if r.errors:
            return "; ".join(r.errors)
        if r.hung_up_by_bot:
            return "the bot hung up"
        if r.time_to_first_audio_secs is None:
            return "no greeting"
        if len(r.turns) != self.turns:
            return f"{len(r.turns)} of {self.turns} turns spoken"
        missing = [t.index for t in r.turns if t.voice_to_voice_secs is None]
        if missing:
            return f"no reply to turns {missing}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the caller's full result without audio or messages)."""
        return {
            "index": self.index,
            "started_at": round(self.started_at, 3),
            "failure": self.failure,
            "phrases": [e.phrase for e in self.exchanges],
            "result": None if self.result is None else self.result.to_dict(),
        }


def max_call_secs(turns: int) -> float:
    """Hard limit on one simulated call: every wait timing out, plus slack."""
    return scenario.GREETING_TIMEOUT_SECS + turns * (scenario.REPLY_TIMEOUT_SECS + 10) + 30


async def one_call(stack: Stack, index: int, turns: int, t0: float) -> CallOutcome:
    """Place one call (greeting, ``turns`` exchanges, hang-up) and record it."""
    outcome = CallOutcome(
        index, turns, time.monotonic() - t0,
        [scenario.exchange_for(index, t) for t in range(turns)],
    )
    caller = TwilioCaller(webhook_url=stack.webhook_url, auth_token=stack.auth_token)
    try:
        outcome.result = await caller.run(
            scenario.caller_script(index, turns), max_duration=max_call_secs(turns)
        )
    except Exception as exc:  # a caller crash is a measurement, not a reason to stop the run
        outcome.exception = repr(exc)
    return outcome


async def run_concurrent(
    stack: Stack,
    calls: int,
    turns: int,
    ramp_secs: float,
    postfix: Callable[[], dict[str, Any]] | None = None,
) -> list[CallOutcome]:
    """Start ``calls`` callers spread evenly over ``ramp_secs`` and wait for all of them.

    Args:
        stack: The running doubles and launcher.
        calls: Number of callers.
        turns: Caller turns per call.
        ramp_secs: Caller ``i`` dials at ``i * ramp_secs / calls``.
        postfix: Called every second for the progress bar's status fields.

    Returns:
        The outcomes in caller order.
    """
    t0 = time.monotonic()
    bar = tqdm(total=calls, unit="call", desc=f"{calls} calls x {turns} turns", dynamic_ncols=True)
    failed = 0

    async def ramped(index: int) -> CallOutcome:
        nonlocal failed
        await asyncio.sleep(index * ramp_secs / max(calls, 1))
        outcome = await one_call(stack, index, turns, t0)
        failed += outcome.failure is not None
        bar.update(1)
        return outcome

    async def refresh() -> None:
        while True:
            await asyncio.sleep(1.0)
            bar.set_postfix(({"failed": failed} | (postfix() if postfix else {})), refresh=True)

    refresher = asyncio.create_task(refresh())
    try:
        with no_collector_pauses():
            return list(await asyncio.gather(*(ramped(i) for i in range(calls))))
    finally:
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)
        bar.close()


async def wait_idle(stack: Stack, timeout: float = 20.0) -> bool:
    """Wait until the launcher reports no active calls (its pipelines have torn down)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await asyncio.to_thread(stack.launcher.get, "/metrics")
        gauges, _ = parse_metrics(resp.text)
        if gauges.get(ACTIVE_CALLS, 0) == 0:
            return True
        await asyncio.sleep(0.2)
    return False
