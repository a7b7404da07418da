"""Turn a run's raw measurements into the summary: resource figures, printing, the JSON file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from bench.sampler import ProcessSampler

_LOG_LEVEL = re.compile(r"\|\s*(ERROR|WARNING|CRITICAL)\s*\|")


def resource_summary(
    sampler: ProcessSampler, rss_start_mb: float, rss_end_mb: float, concurrent: float
) -> dict[str, Any]:
    """CPU and RSS of each watched process over the run, and the launcher's RSS per call.

    Args:
        sampler: The run's process samples.
        rss_start_mb: Launcher RSS when idle, just before the first call.
        rss_end_mb: Launcher RSS once every call had ended and torn down.
        concurrent: Peak number of calls the launcher ran at once (denominator per call).

    Returns:
        ``{"processes": {name: {cpu_mean, cpu_max, rss_peak_mb}}, "system_cpu_*", "launcher"}``
        (CPU% where 100 = one core; system CPU where 100 = every core).
    """
    names = sorted({n for s in sampler.samples for n in s.trees})
    processes = {}
    for name in names:
        cpu, rss = sampler.series(name, "cpu"), sampler.series(name, "rss_mb")
        processes[name] = {
            "cpu_mean_pct": round(float(np.mean(cpu)), 1) if cpu else None,
            "cpu_max_pct": round(max(cpu), 1) if cpu else None,
            "cpu_p95_pct": round(float(np.percentile(cpu, 95)), 1) if cpu else None,
            "rss_peak_mb": max(rss) if rss else None,
        }
    system = [s.system_cpu for s in sampler.samples]
    peak = max([rss_start_mb, *sampler.series("launcher", "rss_mb")])
    return {
        "processes": processes,
        "system_cpu_mean_pct": round(float(np.mean(system)), 1) if system else None,
        "system_cpu_max_pct": round(max(system), 1) if system else None,
        "launcher": {
            "cpu_mean_pct": processes.get("launcher", {}).get("cpu_mean_pct"),
            "cpu_max_pct": processes.get("launcher", {}).get("cpu_max_pct"),
            "rss_start_mb": rss_start_mb,
            "rss_peak_mb": peak,
            "rss_end_mb": rss_end_mb,
            "peak_concurrent_calls": concurrent,
            "rss_per_extra_call_mb": round((peak - rss_start_mb) / concurrent, 2)
            if concurrent
            else None,
            "rss_retained_after_calls_mb": round(rss_end_mb - rss_start_mb, 1),
        },
    }


def launcher_log_summary(text: str, examples: int = 15) -> dict[str, Any]:
    """Counts of WARNING/ERROR lines in the launcher's log, with a few distinct examples."""
    counts: dict[str, int] = {}
    seen: dict[str, str] = {}
    for line in text.splitlines():
        match = _LOG_LEVEL.search(line)
        if not match:
            continue
        level = match.group(1)
        counts[level] = counts.get(level, 0) + 1
        message = line[match.end():].strip()
        key = re.sub(r"[0-9a-f]{8,}|\d+(\.\d+)?", "#", message)[:100]
        if key not in seen and len(seen) < examples:
            seen[key] = f"{level}: {message[:300]}"
    return {"counts": counts, "examples": list(seen.values())}


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON (creating the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def _fmt(value: Any, unit: str = "s", scale: float = 1.0) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value * 1000 * scale:.0f} ms"
    return f"{value:.3f} s" if unit == "s" else f"{value:.1f}{unit}"


def _pair(d: dict[str, Any], unit: str = "ms") -> str:
    return f"p50 {_fmt(d.get('p50'), unit)} / p95 {_fmt(d.get('p95'), unit)} (n={d.get('n')})"


def format_calls_summary(data: dict[str, Any]) -> str:
    """The printed summary of a ``calls`` run."""
    s = data["summary"]
    callers, res, lag = s["callers"], s["resources"], s["launcher_loop_lag"]
    launcher, gaps = res["launcher"], callers["gaps"]
    procs = res["processes"]
    lines = [
        f"== {data['calls']} calls x {data['turns']} turns over {data['transport']} "
        f"(ramp {data['ramp_secs']} s, wall {data['wall_secs']} s) ==",
        f"failed calls          {callers['failed_calls']} / {callers['calls']}",
        f"voice-to-voice        {_pair(callers['voice_to_voice_secs'])}",
        "  by turn             "
        + ", ".join(
            f"#{i} p50 {_fmt(v['p50'], 'ms')} p95 {_fmt(v['p95'], 'ms')}"
            for i, v in callers["voice_to_voice_by_turn_secs"].items()
        ),
        f"overhead              {_pair(callers['overhead_secs'])}",
        f"  formula: {data['overhead_formula']}",
        f"  here: provider latency p50 {_fmt(callers['provider_latency_secs']['p50'], 'ms')}, "
        f"turn-detection wait {_fmt(data['vad_stop_secs'], 'ms')}",
        f"first greeting        {_pair(callers['first_greeting_secs'])} (voiced); "
        f"its first byte {_pair(callers['first_greeting_byte_secs'])}",
        "where turns went      voice end -> STT final "
        f"{_pair(s['stages']['voice_end_to_stt_final_secs'])}",
        "                      voice end -> LLM request "
        f"{_pair(s['stages']['voice_end_to_llm_request_secs'])}",
        "                      LLM request -> bot audio at caller "
        f"{_pair(s['stages']['llm_request_to_bot_audio_secs'])}",
        f"audio gaps            max {_fmt(gaps['max_gap_secs'], 'ms')}, "
        f"{gaps['gaps_over_threshold']} gaps > {gaps['threshold_secs'] * 1000:.0f} ms in "
        f"{gaps['calls_with_gap_over_threshold']} calls "
        f"(fraction {gaps['fraction_of_calls_with_gap']})",
        f"launcher CPU          mean {_fmt(launcher['cpu_mean_pct'], '%')} / "
        f"max {_fmt(launcher['cpu_max_pct'], '%')} (100% = one core)",
        f"launcher RSS          start {launcher['rss_start_mb']} MB, peak "
        f"{launcher['rss_peak_mb']} MB, end {launcher['rss_end_mb']} MB, "
        f"{launcher['rss_per_extra_call_mb']} MB per extra concurrent call "
        f"(peak {launcher['peak_concurrent_calls']} at once)",
        f"input audio to STT    {s['stt_audio_keep_up']['stt_received_secs']} s of "
        f"{s['stt_audio_keep_up']['caller_audio_secs']} s the callers sent "
        f"(ratio {s['stt_audio_keep_up']['ratio']}; < 1 = launcher input fell behind)",
        f"launcher loop lag     p95 {_fmt(lag.get('loop_lag_p95_secs'), 'ms')} / "
        f"max {_fmt(lag.get('loop_lag_max_secs'), 'ms')}",
        f"bench loop lag        p95 {_fmt(s['bench_loop_lag'].get('p95_secs'), 'ms')} / "
        f"max {_fmt(s['bench_loop_lag'].get('max_secs'), 'ms')} (the callers' own timing)",
        "CPU by process        "
        + ", ".join(
            f"{name} mean {_fmt(p['cpu_mean_pct'], '%')} max {_fmt(p['cpu_max_pct'], '%')}"
            for name, p in procs.items()
        )
        + f"; machine mean {_fmt(res['system_cpu_mean_pct'], '%')} of all cores",
    ]
    others = s.get("other_processes") or []
    if others:
        lines.append(
            "other busy processes  "
            + "; ".join(f"{o['cmd'][:60]} {o['cpu_pct']}%" for o in others[:3])
        )
    if callers["failures"]:
        lines.append("failures:")
        lines += [f"  call {i}: {why}" for i, why in list(callers["failures"].items())[:10]]
    log = data.get("launcher_log", {})
    if log.get("counts"):
        lines.append(f"launcher log          {log['counts']}")
    return "\n".join(lines)
