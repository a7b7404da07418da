"""``python -m bench calls``: N concurrent simulated phone calls, measured end to end."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import scenario
from bench.calls import CallOutcome, run_concurrent, wait_idle
from bench.looplag import LoopLagMonitor
from bench.machine import CpuLedger, machine_info
from bench.plot import plot_calls
from bench.prom import MetricsScraper
from bench.report import (
    format_calls_summary,
    launcher_log_summary,
    resource_summary,
    write_json,
)
from bench.sampler import ProcessSampler, rss_mb
from bench.stack import Stack, running_stack
from bench.stages import mono_to_wall, stage_summary, turn_stages
from bench.stats import caller_summary


@dataclass
class CallsConfig:
    """Options of a ``calls`` run (see ``python -m bench calls --help``)."""

    calls: int
    turns: int
    transport: str = "twilio"
    ramp_secs: float | None = None
    out: Path = Path("bench/results")
    launcher_env: dict[str, str] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    vad_stop_secs: float = scenario.VAD_STOP_SECS
    settle_secs: float = 2.0

    @property
    def ramp(self) -> float:
        """Seconds over which the callers dial (default 0.1 s per call)."""
        return self.ramp_secs if self.ramp_secs is not None else round(self.calls * 0.1, 2)


def _pids(stack: Stack) -> dict[str, int]:
    assert stack.launcher.proc is not None and stack.doubles.proc is not None
    return {
        "launcher": stack.launcher.proc.pid,
        "doubles": stack.doubles.proc.pid,
        "bench": os.getpid(),
    }


async def _measure(stack: Stack, cfg: CallsConfig) -> dict[str, Any]:
    pids = _pids(stack)
    await asyncio.sleep(cfg.settle_secs)  # let start-up work finish before the baseline
    rss_start = rss_mb(pids["launcher"])
    ledger = CpuLedger().start()
    started = time.monotonic()
    with ProcessSampler(pids) as sampler:
        async with MetricsScraper(stack.launcher.base_url) as scraper, LoopLagMonitor() as own:

            def postfix() -> dict[str, Any]:
                latest = sampler.latest("launcher")
                return {
                    "active": int(scraper.active_calls or 0),
                    "launcher_cpu": f"{latest.cpu:.0f}%" if latest else "-",
                    "rss": f"{latest.rss_mb:.0f}MB" if latest else "-",
                }

            outcomes = await run_concurrent(stack, cfg.calls, cfg.turns, cfg.ramp, postfix)
        wall = round(time.monotonic() - started, 2)
        idle = await wait_idle(stack)
        await asyncio.sleep(cfg.settle_secs)
    ledger.stop()
    rss_end = rss_mb(pids["launcher"])
    lag = scraper.summary()
    callers = caller_summary(outcomes, stack.profile, cfg.vad_stop_secs)
    turn_rows = callers.pop("turn_rows")
    stages = turn_stages(
        outcomes,
        await stack.client.astt_transcripts(),
        await stack.client.allm_requests(),
        mono_to_wall(),
    )
    by_key = {(r["call"], r["turn"]): r for r in stages}
    for row in turn_rows:
        row.update({k: v for k, v in by_key.get((row["call"], row["turn"]), {}).items()
                    if k not in ("call", "turn")})
    resources = resource_summary(
        sampler, rss_start, rss_end, lag.get("peak_active_calls") or cfg.calls
    )
    doubles_stats = await stack.client.astats()
    return {
        "wall_secs": wall,
        "summary": {
            "callers": callers,
            "resources": resources,
            "launcher_loop_lag": lag,
            "stages": stage_summary(stages),
            "bench_loop_lag": own.summary(),
            "cpu_over_whole_run_pct": {
                name: ledger.percent({pid, *_children(pid, name)}) for name, pid in pids.items()
            },
            "other_processes": ledger.busiest(exclude={*pids.values(), *_all_children(pids)}),
            "launcher_idle_after_calls": idle,
            "stt_audio_keep_up": stt_keep_up(outcomes, doubles_stats),
        },
        "turns_detail": turn_rows,
        "calls_detail": [o.to_dict() for o in outcomes],
        "timeline": {"samples": sampler.to_dict(), "scrapes": scraper.to_dict()},
        "doubles_stats": doubles_stats,
    }


def stt_keep_up(outcomes: list[CallOutcome], doubles_stats: dict[str, Any]) -> dict[str, Any]:
    """Caller audio sent vs audio the launcher forwarded to the Deepgram double.

    A ratio below 1 means the launcher's input path fell behind real time: audio was still
    queued in the launcher when the caller hung up (assumes linear16 at 8 kHz, as on Twilio).
    """
    sent = sum(o.result.sent_media for o in outcomes if o.result is not None) * 0.02
    got = doubles_stats.get("services", {}).get("deepgram", {}).get("audio_bytes", 0) / 16000
    return {
        "caller_audio_secs": round(sent, 1),
        "stt_received_secs": round(got, 1),
        "ratio": round(got / sent, 3) if sent else None,
    }


def _children(pid: int, name: str) -> set[int]:
    if name == "bench":
        return set()
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _all_children(pids: dict[str, int]) -> set[int]:
    return {c for name, pid in pids.items() for c in _children(pid, name)}


def run(cfg: CallsConfig, argv: list[str] | None = None) -> int:
    """Run the benchmark, print the summary, write the JSON and the PNG.

    Args:
        cfg: What to run.
        argv: The command line, recorded in the JSON.

    Returns:
        The exit code: 0 if every call did what its script asked, 1 otherwise.
    """
    if cfg.transport != "twilio":
        raise SystemExit(f"transport {cfg.transport!r} is not supported yet (only twilio)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    machine = machine_info()
    with running_stack(cfg.profile, cfg.launcher_env) as stack:
        measured = asyncio.run(_measure(stack, cfg))
        log_text = stack.launcher.log()
        log_path = str(stack.launcher.log_path)
    data: dict[str, Any] = {
        "kind": "calls",
        "command": " ".join(argv if argv is not None else sys.argv),
        "timestamp": stamp,
        "calls": cfg.calls,
        "turns": cfg.turns,
        "transport": cfg.transport,
        "ramp_secs": cfg.ramp,
        "launcher_env": cfg.launcher_env,
        "profile": stack.profile,
        "vad_stop_secs": cfg.vad_stop_secs,
        "overhead_formula": scenario.OVERHEAD_FORMULA,
        "machine": machine,
        **measured,
        "launcher_log": {"path": log_path, **launcher_log_summary(log_text)},
    }
    stem = cfg.out / f"calls-N{cfg.calls}-T{cfg.turns}-{stamp}"
    json_path = write_json(stem.with_suffix(".json"), data)
    png_path = plot_calls(data, stem.with_suffix(".png"))
    print(format_calls_summary(data))
    print(f"wrote {json_path} and {png_path}")
    return 1 if data["summary"]["callers"]["failed_calls"] else 0
