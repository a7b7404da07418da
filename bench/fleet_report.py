"""The fleet bench's figures: per-host counts, refusals, the crash checks and the Markdown table.

Pure functions over what the run collected (the calls, the doubles' recorded Twilio REST and LLM
requests, the stored call rows), so they are tested without a fleet (``tests/bench``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bench.fleet_calls import FleetCall, Kill
from bench.stats import spread


def _norm(content: Any) -> str:
    """Lower-case words of a message's content (a string or a list of text parts)."""
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return " ".join(re.sub(r"[^a-z' ]+", " ", str(content or "").lower()).split())


def redirect_secs(
    call: FleetCall, twilio_requests: list[dict[str, Any]], kill: Kill
) -> float | None:
    """From the kill to the fleet's REST update of the call with new TwiML (None: never)."""
    times = [
        float(r["time"]) for r in twilio_requests
        if r.get("call_sid") == call.call_sid and (r.get("form") or {}).get("Twiml")
        and float(r["time"]) >= kill.wall
    ]  # fmt: skip
    return round(min(times) - kill.wall, 3) if times else None


def context_kept(call: FleetCall, llm_requests: list[dict[str, Any]], kill: Kill) -> bool | None:
    """Whether the LLM request for the turn after the move carried the turns before it.

    The request is the one whose last user message is the call's second phrase and that holds
    its first phrase (user) and reply (assistant) before it, sent after the kill. The phrase pair
    is unique to the call among the first 20 calls. None: no request for the second turn.
    """
    one, two = call.exchanges
    found = False
    for req in llm_requests:
        if float(req.get("time", 0)) < kill.wall:
            continue
        said = [(m.get("role"), _norm(m.get("content"))) for m in req.get("messages") or []]
        users = [i for i, (role, _) in enumerate(said) if role == "user"]
        if not users or _norm(two.phrase) not in said[users[-1]][1]:
            continue
        found = True
        earlier = said[: users[-1]]
        if any(r == "user" and _norm(one.phrase) in t for r, t in earlier) and any(
            r == "assistant" and _norm(one.reply) in t for r, t in earlier
        ):
            return True
    return False if found else None


def per_host(
    hosts: dict[str, dict[str, Any]], calls: Sequence[FleetCall], rows: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One row per host: slots, calls admitted there, calls moved there, calls it ran.

    Args:
        hosts: Host id → ``{"slots", "killed", "peak_active"}``.
        calls: Every call of the run.
        rows: Call id → the hosts its stored call row lists (``metadata.hosts``).
    """
    out = []
    for host_id, info in hosts.items():
        out.append({
            "host": host_id,
            "slots": info["slots"],
            "killed": info["killed"],
            "admitted": sum(1 for c in calls if c.host == host_id),
            "taken_over": sum(1 for c in calls if c.moved_to == host_id),
            "ran_per_call_rows": sum(1 for hs in rows.values() if host_id in hs),
            "peak_active": info.get("peak_active"),
        })  # fmt: skip
    return out


def summarize(
    calls: Sequence[FleetCall], hosts: list[dict[str, Any]], kill: Kill | None
) -> dict[str, Any]:
    """The run's headline figures (``hosts``: :func:`per_host`)."""
    admitted = [h["admitted"] for h in hosts]
    refused = [c for c in calls if c.refused]
    polite = [
        c for c in refused
        if c.first and c.first.twiml and c.first.twiml.status_code == 200
        and c.first.twiml.hangup and c.first.twiml.say_text
    ]  # fmt: skip
    out: dict[str, Any] = {
        "placed": len(calls),
        "admitted": sum(admitted),
        "refused": len(refused),
        "refused_politely": len(polite),
        "refusal_texts": sorted({c.first.rejected_text for c in refused if c.first}),
        "admission_spread": max(admitted) - min(admitted) if admitted else None,
        "caller_crashes": sum(1 for c in calls if c.crash),
    }
    results = [c.first for c in calls if c.first and c.first.connected]
    out["first_greeting_secs"] = spread(
        [r.time_to_first_audio_secs for r in results if r.time_to_first_audio_secs is not None]
    )
    out["reply_secs"] = spread([
        t.voice_to_voice_secs for r in [*results, *(c.after_move for c in calls if c.after_move)]
        for t in r.turns if t.voice_to_voice_secs is not None
    ])  # fmt: skip
    survivors = [c for c in calls if c.host and (kill is None or c.host != kill.host)]
    out["other_calls"] = {"calls": len(survivors),
                          "continued": sum(1 for c in survivors if c.continued)}
    if kill is None:
        out["kill"] = None
        return out
    victims = [c for c in calls if c.host == kill.host and c.moved is not None]
    moved = [c for c in victims if c.moved]
    out["kill"] = {
        "host": kill.host,
        "live_calls": len(victims),
        "moved": len(moved),
        "moved_to": {h: sum(1 for c in moved if c.moved_to == h) for h in
                     sorted({c.moved_to for c in moved if c.moved_to})},
        "not_moved": {str(c.index): c.redirect_text or "no redirect during the hold"
                      for c in victims if not c.moved},
        "no_room": sum(1 for c in victims if not c.moved and c.redirect_text),
        "kill_to_redirect_secs": spread(_vals(victims, "redirect_secs")),
        "kill_to_first_audio_secs": spread(
            [c.kill_to_first_audio_secs for c in moved if c.kill_to_first_audio_secs is not None]
        ),
        "continued": sum(1 for c in moved if c.continued),
        "context_kept": sum(1 for c in moved if c.checks.get("context_kept")),
        "apology_first": sum(1 for c in moved if c.checks.get("apology_first")),
        "row_lists_both_hosts": sum(1 for c in moved if c.checks.get("row_hosts_ok")),
        "stored_turns_kept": sum(1 for c in moved if c.checks.get("stored_turns_kept")),
    }
    return out


def _vals(calls: Sequence[FleetCall], key: str) -> list[float]:
    return [c.checks[key] for c in calls if c.checks.get(key) is not None]


def failed(summary: dict[str, Any]) -> list[str]:
    """Why the run counts as failed (empty: it did not). Refusals of a full fleet are not."""
    why = []
    other = summary["other_calls"]
    if other["continued"] < other["calls"]:
        why.append(f"{other['calls'] - other['continued']} calls on live hosts did not finish")
    if summary["refused"] > summary["refused_politely"]:
        why.append("a refusal was not the polite apology")
    kill = summary.get("kill")
    # A call the fleet had no room for hears an apology and a hang-up: by design, not a loss.
    if kill and (kill["moved"] + kill["no_room"] < kill["live_calls"]
                 or kill["continued"] < kill["moved"]):
        why.append(f"{kill['moved']}/{kill['live_calls']} calls of the killed host moved "
                   f"({kill['no_room']} told there was no room), {kill['continued']} went on")
    return why


def _moved_to(kill: dict[str, Any]) -> str:
    where = ", ".join(f"{h}: {n}" for h, n in kill["moved_to"].items())
    room = f"{kill['no_room']} told the fleet had no room" if kill["no_room"] else ""
    parts = [f"to {where}" if where else "", room]
    return f" ({'; '.join(p for p in parts if p)})" if any(parts) else ""


def _ms(d: dict[str, Any], key: str) -> str:
    v = d.get(key)
    return "-" if v is None else f"{v * 1000:.0f}"


def format_fleet(data: dict[str, Any]) -> str:
    """The Markdown tables of a run: one row per host, then the headline figures."""
    s, cfg = data["summary"], data["config"]
    lines = [
        f"Fleet bench: {cfg['hosts']} hosts x {cfg['slots']} slots, {cfg['calls']} calls "
        f"(webhooks round robin, ramp {cfg['ramp_secs']} s), wall {data['wall_secs']} s, "
        f"load {data['machine']['load_avg_1_5_15']} on {data['machine']['cpus']} cores",
        "",
        "| host | slots | calls admitted | calls moved to it | calls it ran (call rows) "
        "| peak active | killed |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in data["hosts"]:
        peak = "-" if h["peak_active"] is None else h["peak_active"]
        lines.append(
            f"| {h['host']} | {h['slots']} | {h['admitted']} | {h['taken_over']} | "
            f"{h['ran_per_call_rows']} | {peak} | {'SIGKILL' if h['killed'] else ''} |"
        )
    lines += ["", "| figure | value |", "|---|---|",
              f"| calls placed / admitted / refused (politely) | {s['placed']} / {s['admitted']} "
              f"/ {s['refused']} ({s['refused_politely']}) |",
              f"| admission spread (max − min calls admitted per host) | {s['admission_spread']} |",
              f"| first greeting / reply to a turn, p50 / max (ms) | "
              f"{_ms(s['first_greeting_secs'], 'p50')} / {_ms(s['first_greeting_secs'], 'max')}, "
              f"{_ms(s['reply_secs'], 'p50')} / {_ms(s['reply_secs'], 'max')} |",
              f"| calls on surviving hosts that finished both turns | "
              f"{s['other_calls']['continued']} / {s['other_calls']['calls']} |"]
    k = s.get("kill")
    if k:
        first, redirect = k["kill_to_first_audio_secs"], k["kill_to_redirect_secs"]
        lines += [
            f"| live calls on the killed host ({k['host']}) moved | {k['moved']} / "
            f"{k['live_calls']}{_moved_to(k)} |",
            f"| kill → Twilio REST redirect, p50 / max (ms) | {_ms(redirect, 'p50')} / "
            f"{_ms(redirect, 'max')} |",
            f"| kill → first audio on the new host, p50 / max (ms) | {_ms(first, 'p50')} / "
            f"{_ms(first, 'max')} (n={first['n']}) |",
            f"| moved calls: apology heard first, answered on the turn after the move | "
            f"{k['apology_first']} / {k['moved']}, {k['continued']} / {k['moved']} |",
            f"| LLM request after the move carried the earlier turns | {k['context_kept']} / "
            f"{k['moved']} |",
            f"| call row lists both hosts, stored turns kept | {k['row_lists_both_hosts']} / "
            f"{k['moved']}, {k['stored_turns_kept']} / {k['moved']} |",
        ]
    burst = data.get("overflow")
    if burst:
        lines.append(
            f"| overflow burst: {burst['asked']} webhooks at once for {burst['free_slots']} free "
            f"slots | {burst['admitted']} admitted, {burst['refused']} refused "
            f"({burst['refused_politely']} politely) |"
        )
    return "\n".join(lines)
