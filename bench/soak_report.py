"""Summary and printed table of ``python -m bench soak``, with the goals beside them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.soak_faults import FAULT_KINDS
from bench.soak_measure import group_of
from bench.stats import pct

GOALS = {"silent_turns": 0, "dropped_calls": 0}


def _spread(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "max": max(values) if values else None}


def summarize(
    rows: list[dict[str, Any]],
    calls: list[dict[str, Any]],
    events: list[dict[str, Any]],
    rss: dict[str, Any],
    failovers: dict[str, float],
) -> dict[str, Any]:
    """The run's figures.

    Args:
        rows: ``bench.soak_measure.turn_rows`` rows, attributed (``attribute``).
        calls: One dict per call with ``dropped`` (a reason or None).
        events: ``FaultEvent.to_dict()`` of every fault.
        rss: Launcher tree RSS: ``start_mb`` and ``end_mb`` (and anything else to keep).
        failovers: Increase of ``switchboard_failovers_total`` per label set during the run.
    """
    latency: dict[str, Any] = {}
    for group in ("clean", "faulted", "collateral"):
        mine = [r for r in rows if group_of(r) == group]
        latency[group] = _spread([r["reply_secs"] for r in mine if r["reply_secs"] is not None])
    for kind in FAULT_KINDS:
        mine = [r for r in rows if group_of(r) == "faulted" and r["fault"] == kind]
        latency[kind] = _spread([r["reply_secs"] for r in mine if r["reply_secs"] is not None])
    planned = Counter(e["kind"] for e in events)
    injected = Counter(e["kind"] for e in events if e["injected"])
    silent = [r for r in rows if r["silent"]]
    unanswered = [r for r in rows if r["unanswered"]]
    dropped = [c for c in calls if c["dropped"]]
    start, end = rss.get("start_mb"), rss.get("end_mb")
    growth = None if start is None or end is None else round(end - start, 1)
    return {
        "calls": len(calls),
        "turns": len(rows),
        "silent_turns": len(silent),
        "silent_by_group": dict(Counter(group_of(r) for r in silent)),
        "unanswered_turns": len(unanswered),
        "unanswered_by_group": dict(Counter(group_of(r) for r in unanswered)),
        "dropped_calls": len(dropped),
        "drop_reasons": dict(Counter(str(c["dropped"]).split(":")[0] for c in dropped)),
        "redials": sum(c.get("redials", 0) for c in calls),
        "latency": latency,
        "faults_planned": {k: planned.get(k, 0) for k in FAULT_KINDS},
        "faults_injected": {k: injected.get(k, 0) for k in FAULT_KINDS},
        "faults_not_injected": sorted({e["detail"] for e in events if not e["injected"]}),
        "turns_by_group": dict(Counter(group_of(r) for r in rows)),
        "rss": {**rss, "growth_mb": growth},
        "failovers": failovers,
        "failovers_total": sum(failovers.values()),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _lat(spread: dict[str, Any]) -> str:
    return f"{_ms(spread['p50'])} / {_ms(spread['p95'])} (n={spread['n']})"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table_rows(s: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(figure, value, goal)`` rows of the printed table."""
    planned, injected, rss = s["faults_planned"], s["faults_injected"], s["rss"]
    faults = ", ".join(f"{k} {injected[k]}/{planned[k]}" for k in FAULT_KINDS)
    fo = ", ".join(f"{k}: {v:.0f}" for k, v in sorted(s["failovers"].items())) or "absent/0"
    growth = rss.get("growth_mb")
    rows = [
        ("calls / caller turns", f"{s['calls']} / {s['turns']}", ""),
        ("silent turns (no bot audio before the next turn or hang-up)",
         f"{s['silent_turns']} {s['silent_by_group'] or ''}".strip(), "0"),
        (f"turns not answered within {9.5} s (new bot utterance)",
         f"{s['unanswered_turns']} {s['unanswered_by_group'] or ''}".strip(), "0"),
        ("dropped calls (no goodbye, or failed)",
         f"{s['dropped_calls']} {s['drop_reasons'] or ''}".strip(), "0"),
        ("redials after \"all our lines are busy\" (a lane's previous call winding down)",
         str(s.get("redials", 0)), ""),
        ("end of turn → first bot audio, clean turns p50 / p95 (ms)",
         _lat(s["latency"]["clean"]), ""),
        ("… after a fault (own fault injected)", _lat(s["latency"]["faulted"]), ""),
    ]
    rows += [(f"… {k}", _lat(s["latency"][k]), "") for k in FAULT_KINDS]
    rows += [
        ("… other calls' drops only (collateral)", _lat(s["latency"]["collateral"]), ""),
        ("faults injected / planned", faults, ""),
        ("launcher tree RSS start → end (MB)",
         f"{_mb(rss.get('start_mb'))} → {_mb(rss.get('end_mb'))} "
         f"({'-' if growth is None else f'{growth:+.0f}'} MB; peak {_mb(rss.get('peak_mb'))})",
         ""),
        ("failovers (switchboard_failovers_total)", fo, ""),
    ]
    return rows


def format_soak(data: dict[str, Any]) -> str:
    """A Markdown table of the run's figures, the run's parameters and what was not injected."""
    s = data["summary"]
    lines = [
        f"== soak: {data['calls']} calls live for {data['minutes']} min, fault rate "
        f"{data['fault_rate']:.0%} per turn, backup LLM {data['backup_llm'] or 'none'}, "
        f"LLM faults {'primary model only' if data['llm_fault_model'] else 'every model'}, "
        f"seed {data['seed']} ==",
        "| figure | value | goal |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in table_rows(s)]
    if s["faults_not_injected"]:
        lines.append(f"not injected: {'; '.join(s['faults_not_injected'])}")
    log = data.get("launcher_log") or {}
    if log:
        lines.append(f"launcher log {log.get('path')}: {log.get('counts')}")
    lines.append(f"wall {data['wall_secs']} s; LLM requests by model {data['llm_models']}")
    return "\n".join(lines)
