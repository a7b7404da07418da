"""``python -m bench turns``: turn-taking measured at the caller, at 1, 10 and 20 calls.

The real launcher and the provider doubles (exact-text STT, fixed latencies: STT final 50 ms,
LLM first token 300 ms, TTS first byte 150 ms by default), simulated Twilio callers speaking
the multi-voice corpus (``bench/turn_corpus.py``): complete utterances, mid-utterance pauses,
backchannels and interruptions over the bot (``bench/turn_plan.py``), measured by
``bench/turn_measure.py`` and summarised by ``bench/turn_report.py``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger
from prometheus_client.parser import text_string_to_metric_families
from tqdm import tqdm

from bench.calls import wait_idle
from bench.gc_pause import no_collector_pauses
from bench.looplag import LoopLagMonitor
from bench.report import write_json
from bench.stack import Stack, running_stack
from bench.stages import mono_to_wall
from bench.turn_measure import backchannel_llm_turns, measure_call
from bench.turn_plan import (
    DEFAULT_COUNTS,
    TurnSpec,
    build_plan,
    lanes,
    llm_rules,
    registrations,
    script,
)
from bench.turn_report import format_turns, summarize_level
from simulators.callers.twilio import TwilioCaller
from simulators.doubles.client import DoublesClient

# The outside caller's provider delays (issue 10): STT 50 ms, LLM 300 ms, TTS 150 ms, with
# Deepgram's own endpointing.
TURNS_PROFILE = {
    "stt_mode": "exact",
    "stt_final_ms": 50,
    # The STT endpoints on its own, before the VAD's 0.2 s stop, as Deepgram does: its default
    # is 10 ms of silence after the words, which Pipecat leaves in place (the double's own
    # default is 300 ms). The double ends a segment that soon only where it knows the words
    # ended (simulators/doubles/segmenter.py).
    "stt_endpointing_ms": 10,
    "llm_first_token_ms": 300,
    "tts_first_byte_ms": 150,
}
_COUNTERS = ("switchboard_turn_ends", "switchboard_barge_ins")


@dataclass
class TurnsConfig:
    """Options of a ``turns`` run (``python -m bench turns --help``)."""

    levels: list[int] = field(default_factory=lambda: [1, 10, 20])
    counts: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_COUNTS))
    voices: list[str] | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    launcher_env: dict[str, str] = field(default_factory=dict)
    launcher_dir: Path | None = None
    out: Path = Path("bench/results")


def _prepare(plan_calls: list[list[TurnSpec]]):
    specs = [s for call in plan_calls for s in call]

    def prepare(client: DoublesClient) -> None:
        batch = registrations(specs)
        for start in range(0, len(batch), 40):
            answer = client.stt_utterances(batch[start : start + 40], append=start > 0)
            if answer.get("rejected"):
                raise RuntimeError(f"STT double rejected utterances: {answer['rejected']}")
        client.llm_rules(llm_rules())

    return prepare


def _counters(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.removesuffix("_total") in _COUNTERS and s.name.endswith("_total"):
                key = f"{s.name.removesuffix('_total')}:{next(iter(s.labels.values()), '')}"
                out[key] = out.get(key, 0.0) + s.value
    return out


async def _scrape(stack: Stack) -> dict[str, float]:
    resp = await asyncio.to_thread(stack.launcher.get, "/metrics")
    return _counters(resp.text)


async def _lane(stack: Stack, calls: list[list[TurnSpec]], bar: tqdm) -> list[Any]:
    """Run a lane's calls one after another: ``(result, roles, call_secs)`` or a failed row."""
    done: list[Any] = []
    for specs in calls:
        steps, roles = script(specs)
        caller = TwilioCaller(webhook_url=stack.webhook_url, auth_token=stack.auth_token)
        started = time.monotonic()
        try:
            result = await caller.run(steps, max_duration=60 + 30 * len(specs))
        except Exception as exc:  # a crashed caller is a failed call, not a failed run
            done.append({"kind": "failed", "error": repr(exc)})
        else:
            done.append((result, roles, round(time.monotonic() - started, 1)))
        bar.update(len(specs))
    return done


def _rows(done: list[Any], profile: dict[str, Any], requests, finals) -> list[dict[str, Any]]:
    """Every measured turn's row (``bench.turn_measure``) and a row per failed call."""
    rows: list[dict[str, Any]] = []
    wall_offset = mono_to_wall()
    for item in done:
        if isinstance(item, dict):
            rows.append(item)
            continue
        result, roles, call_secs = item
        for row in measure_call(result, roles, profile, requests, wall_offset, finals):
            rows.append(row | {"call_secs": call_secs})
        if result.errors or not result.connected or result.hung_up_by_bot:
            rows.append({"kind": "failed", "error": "; ".join(result.errors) or "call ended"})
    return rows


async def _level(stack: Stack, calls: int, plan: list[TurnSpec]) -> dict[str, Any]:
    plan_lanes = lanes(plan, calls)
    total = sum(len(c) for lane in plan_lanes for c in lane)
    before = await _scrape(stack)
    requests_before = len(await stack.client.allm_requests())
    finals_before = len(await stack.client.astt_transcripts())
    bar = tqdm(total=total, unit="turn", desc=f"{calls} concurrent calls", dynamic_ncols=True)
    started = time.monotonic()
    try:
        with no_collector_pauses():
            async with LoopLagMonitor(0.02) as own:  # the callers' own clock (bench.looplag)
                per_lane = await asyncio.gather(*(_lane(stack, lane, bar) for lane in plan_lanes))
    finally:
        bar.close()
    wall = time.monotonic() - started
    await wait_idle(stack)
    after = await _scrape(stack)
    # The doubles' records are read once, after the calls: not while the level is measured.
    requests = (await stack.client.allm_requests())[requests_before:]
    finals = (await stack.client.astt_transcripts())[finals_before:]
    rows = _rows([c for lane in per_lane for c in lane], stack.profile, requests, finals)
    texts = {c for s in plan if s.kind == "backchannel" for c in s.item.chunks}
    launcher = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    summary = summarize_level(rows, launcher, backchannel_llm_turns(requests, texts))
    summary["bench_loop_lag"] = own.summary()
    return {"calls": calls, "wall_secs": round(wall, 1), "summary": summary, "rows": rows}


def run(cfg: TurnsConfig, argv: list[str] | None = None) -> int:
    """Run every level, print the table, write ``bench/results/turns-*.json``.

    Returns:
        0 if every call completed, 1 if any call failed.
    """
    plan = build_plan(cfg.counts, cfg.voices)
    if not plan:
        raise SystemExit("empty plan: no corpus items for these voices")
    everything = [c for n in cfg.levels for lane in lanes(plan, n) for c in lane]
    profile = {**TURNS_PROFILE, **cfg.profile}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    levels = []
    with running_stack(profile, cfg.launcher_env, _prepare(everything), cfg.launcher_dir) as stack:
        for calls in cfg.levels:
            logger.info(f"turns: {calls} concurrent calls, {len(plan)} measured turns")
            levels.append(asyncio.run(_level(stack, calls, plan)))
        log_path = str(stack.launcher.log_path)
        profile = stack.profile
    data = {
        "kind": "turns",
        "command": " ".join(argv if argv is not None else sys.argv),
        "timestamp": stamp,
        "profile": profile,
        "counts": cfg.counts,
        "voices": sorted({s.item.voice for s in plan}),
        "launcher_env": cfg.launcher_env,
        "launcher_dir": str(cfg.launcher_dir) if cfg.launcher_dir else None,
        "launcher_log": log_path,
        "levels": levels,
    }
    path = write_json(cfg.out / f"turns-{stamp}.json", data)
    print(format_turns(data))
    print(f"wrote {path}")
    return 1 if any(lv["summary"]["failed_calls"] for lv in levels) else 0
