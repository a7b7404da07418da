"""``python -m bench sequential``: launcher RSS growth over many one-after-another calls."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bench import scenario
from bench.calls import CallOutcome, one_call, wait_idle
from bench.machine import machine_info
from bench.plot import plot_sequential
from bench.report import launcher_log_summary, write_json
from bench.sampler import rss_mb
from bench.stack import Stack, running_stack
from bench.stats import caller_summary

TARGET_GROWTH_MB = 20.0
"""The brief's budget: at most this much launcher RSS growth over 100 sequential calls."""


@dataclass
class SequentialConfig:
    """Options of a ``sequential`` run (see ``python -m bench sequential --help``)."""

    calls: int = 100
    turns: int = 1
    out: Path = Path("bench/results")
    launcher_env: dict[str, str] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    vad_stop_secs: float = scenario.VAD_STOP_SECS
    settle_secs: float = 0.5


def growth_summary(start: float, after: list[float]) -> dict[str, Any]:
    """Start/end RSS, growth, growth after the first call, and the fitted MB per call.

    Args:
        start: Launcher RSS before the first call (MB).
        after: Launcher RSS after each call had ended and torn down (MB).

    Returns:
        JSON-ready figures in MB.
    """
    if not after:
        return {"rss_start_mb": start, "calls_measured": 0}
    tail = np.asarray(after[1:], dtype=float)
    slope = float(np.polyfit(np.arange(len(tail)), tail, 1)[0]) if len(tail) >= 2 else None
    growth = round(after[-1] - start, 1)
    return {
        "calls_measured": len(after),
        "rss_start_mb": start,
        "rss_after_first_call_mb": after[0],
        "rss_end_mb": after[-1],
        "rss_peak_mb": max(after),
        "growth_mb": growth,
        "growth_after_first_call_mb": round(after[-1] - after[0], 1),
        "fitted_growth_per_call_mb": None if slope is None else round(slope, 3),
        "growth_per_100_calls_mb": round(growth / len(after) * 100, 1),
        "target_growth_mb": TARGET_GROWTH_MB,
        "target_met": growth <= TARGET_GROWTH_MB * len(after) / 100,
    }


async def _measure(stack: Stack, cfg: SequentialConfig) -> dict[str, Any]:
    assert stack.launcher.proc is not None
    pid = stack.launcher.proc.pid
    await asyncio.sleep(2.0)
    start = rss_mb(pid)
    after: list[float] = []
    outcomes: list[CallOutcome] = []
    not_idle = 0
    t0 = time.monotonic()
    with tqdm(total=cfg.calls, unit="call", desc="sequential calls", dynamic_ncols=True) as bar:
        for index in range(cfg.calls):
            outcomes.append(await one_call(stack, index, cfg.turns, t0))
            not_idle += not await wait_idle(stack)
            await asyncio.sleep(cfg.settle_secs)
            after.append(rss_mb(pid))
            failed = sum(o.failure is not None for o in outcomes)
            bar.set_postfix({"rss": f"{after[-1]:.0f}MB", "+": f"{after[-1] - start:.0f}MB",
                             "failed": failed})
            bar.update(1)
    callers = caller_summary(outcomes, stack.profile, cfg.vad_stop_secs)
    callers.pop("turn_rows")
    return {
        "wall_secs": round(time.monotonic() - t0, 1),
        "summary": growth_summary(start, after) | {"calls_not_torn_down_in_20s": not_idle},
        "callers": callers,
        "rss_after_call_mb": after,
        "calls_detail": [o.to_dict() for o in outcomes],
        "doubles_stats": await stack.client.astats(),
    }


def format_summary(data: dict[str, Any]) -> str:
    """The printed summary of a ``sequential`` run."""
    s, c = data["summary"], data["callers"]
    v2v = c["voice_to_voice_secs"]
    return "\n".join([
        f"== {data['calls']} sequential calls x {data['turns']} turn(s), "
        f"wall {data['wall_secs']} s ==",
        f"failed calls          {c['failed_calls']} / {c['calls']}",
        f"launcher RSS          start {s['rss_start_mb']} MB, after call 1 "
        f"{s.get('rss_after_first_call_mb')} MB, end {s.get('rss_end_mb')} MB, "
        f"peak {s.get('rss_peak_mb')} MB",
        f"growth                {s.get('growth_mb')} MB over {s['calls_measured']} calls "
        f"({s.get('growth_after_first_call_mb')} MB after the first call; fitted "
        f"{s.get('fitted_growth_per_call_mb')} MB/call); target <= {TARGET_GROWTH_MB} MB per 100 "
        f"calls: {'met' if s.get('target_met') else 'NOT met'}",
        f"voice-to-voice        p50 {v2v['p50']} s / p95 {v2v['p95']} s (n={v2v['n']})",
    ])


def run(cfg: SequentialConfig, argv: list[str] | None = None) -> int:
    """Run the sequential calls, print the summary, write the JSON and the PNG.

    Returns:
        0 if every call succeeded, 1 otherwise (the RSS target is reported, not enforced).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    machine = machine_info()
    with running_stack(cfg.profile, cfg.launcher_env) as stack:
        measured = asyncio.run(_measure(stack, cfg))
        log = {"path": str(stack.launcher.log_path), **launcher_log_summary(stack.launcher.log())}
    data: dict[str, Any] = {
        "kind": "sequential",
        "command": " ".join(argv if argv is not None else sys.argv),
        "timestamp": stamp,
        "calls": cfg.calls,
        "turns": cfg.turns,
        "launcher_env": cfg.launcher_env,
        "profile": stack.profile,
        "machine": machine,
        "bench_pid": os.getpid(),
        **measured,
        "launcher_log": log,
    }
    stem = cfg.out / f"sequential-N{cfg.calls}-T{cfg.turns}-{stamp}"
    json_path = write_json(stem.with_suffix(".json"), data)
    png_path = plot_sequential(data, stem.with_suffix(".png"))
    print(format_summary(data))
    print(f"wrote {json_path} and {png_path}")
    return 1 if data["callers"]["failed_calls"] else 0
