"""Summaries and the printed table of ``python -m bench turns``, with the targets beside them."""

from __future__ import annotations

from typing import Any

from bench.stats import pct
from bench.turn_corpus import PAUSE_SECS

# Targets (README, issue 10).
TARGETS = {
    "v2v_p50": 0.55,  # complete utterance: voice-to-voice p50 (the table)
    "wait_p95": 0.4,  # end of turn: v2v p95 <= provider latency + 0.4 s
    "v2v_max": 1.5,  # no complete utterance waits out a cap or a fallback
    "false_barge_ins": 0,
    "backchannel_pause_max": 0.6,
    "stop_p95": 0.4,
    "premature": {0.6: 0, 1.0: 1},  # per 20 turns
}


def _vals(rows: list[dict[str, Any]], kind: str, key: str) -> list[float]:
    return [r[key] for r in rows if r.get("kind") == kind and r.get(key) is not None]


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "max": max(values) if values else None,
    }


def _after_ask(complete: list[dict[str, Any]]) -> list[float]:
    """Seconds from the LLM request to the bot's voice at the caller, per complete turn."""
    return [
        r["v2v_secs"] - r["ask_secs"]
        for r in complete
        if r.get("v2v_secs") is not None and r.get("ask_secs") is not None
    ]


def summarize_level(
    rows: list[dict[str, Any]], launcher: dict[str, float], backchannel_llm: int
) -> dict[str, Any]:
    """The figures of one concurrency level.

    Args:
        rows: ``bench.turn_measure.measure_call`` rows of every call of the level.
        launcher: Counter increases from the launcher's ``/metrics`` during the level.
        backchannel_llm: LLM requests whose last user message was only a backchannel.
    """
    complete = [r for r in rows if r.get("kind") == "complete"]
    waits = _vals(rows, "complete", "wait_secs")
    pauses = {}
    for secs in PAUSE_SECS:
        mine = [r for r in rows if r.get("kind") == "pause" and r.get("pause_secs") == secs]
        pauses[str(secs)] = {
            "n": len(mine),
            "premature": sum(bool(r["premature"]) for r in mine),
            "early_llm": sum(bool(r["early_llm"]) for r in mine),
        }
    backchannels = [r for r in rows if r.get("kind") == "backchannel"]
    interrupts = [r for r in rows if r.get("kind") == "interrupt"]
    ends = {k.split(":", 1)[1]: v for k, v in launcher.items() if k.startswith("switchboard_turn")}
    barges = {k.split(":", 1)[1]: v for k, v in launcher.items() if k.startswith("switchboard_b")}
    # Every turn that ended on a timeout rather than a verdict: the unfinished-words cap,
    # smart-turn's hold, no words at all, and smart-turn too slow to answer (``model_late``).
    capped = sum(v for k, v in ends.items() if k in ("cap", "hold", "no_words", "model_late"))
    return {
        "complete": {
            "v2v": _spread(_vals(rows, "complete", "v2v_secs")),
            "wait": _spread(waits),
            "unanswered": sum(r.get("v2v_secs") is None for r in complete),
            "slow_over_1s": sum(w > 1.0 for w in waits),
            # Where the time went: voice end -> STT final sent -> LLM asked -> bot voice heard.
            "final": _spread(_vals(rows, "complete", "final_secs")),
            "ask": _spread(_vals(rows, "complete", "ask_secs")),
            "after_ask": _spread(_after_ask(complete)),
        },
        "pauses": pauses,
        "backchannel": {
            "n": len(backchannels),
            "false_barge_ins": sum(bool(r["false_barge_in"]) for r in backchannels),
            "llm_turns_on_backchannels": backchannel_llm,
            "paused": sum(bool(r["paused"]) for r in backchannels),
            "paused_secs": _spread(_vals(rows, "backchannel", "paused_secs")),
            "pause_started": _spread(_vals(rows, "backchannel", "pause_started_secs")),
        },
        "interrupt": {
            "n": len(interrupts),
            "stop": _spread(_vals(rows, "interrupt", "stop_secs")),
            "missed": sum(bool(r["missed"]) for r in interrupts),
        },
        "turn_ends": ends,
        "turn_ends_capped": capped,
        "barge_ins": barges,
        "failed_calls": sum(r.get("kind") == "failed" for r in rows),
        "failures": [r["error"] for r in rows if r.get("kind") == "failed"][:10],
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _row(level: dict[str, Any]) -> list[str]:
    s = level["summary"]
    c, b, i = s["complete"], s["backchannel"], s["interrupt"]
    total_ends = sum(s["turn_ends"].values()) or None
    capped = "-" if total_ends is None else f"{s['turn_ends_capped']:.0f}/{total_ends:.0f}"
    ordered = sorted(s["pauses"].items(), key=lambda kv: float(kv[0]))
    pauses = " · ".join(f"{p['premature']}/{p['n']}" for _, p in ordered)
    return [
        str(level["calls"]),
        f"{_ms(c['v2v']['p50'])} / {_ms(c['v2v']['p95'])} / {_ms(c['v2v']['max'])}",
        f"{_ms(c['wait']['p50'])} / {_ms(c['wait']['p95'])}",
        f"{c['slow_over_1s']}/{c['wait']['n']}",
        capped,
        pauses,
        f"{b['false_barge_ins']}/{b['n']} ({b['llm_turns_on_backchannels']})",
        f"{_ms(b['paused_secs']['p50'])} / {_ms(b['paused_secs']['max'])}",
        f"{_ms(i['stop']['p50'])} / {_ms(i['stop']['p95'])} ({i['missed']} missed)",
        str(s["failed_calls"]),
    ]


HEADER = [
    "calls",
    "complete: v2v p50 / p95 / max (ms)",
    "end-of-turn wait p50 / p95 (ms)",
    "waits > 1 s",
    "turns ended by a cap or timeout (launcher)",
    "replies into a pause 0.5 · 0.6 · 1.0 · 1.5 s",
    "false barge-ins (LLM turns)",
    "backchannel pause p50 / max (ms)",
    "interruption → audio stops p50 / p95 (ms)",
    "failed calls",
]


def format_turns(data: dict[str, Any]) -> str:
    """A Markdown table (one row per level) and the run's parameters."""
    p = data["profile"]
    lines = [
        f"== turn-taking: {len(data['voices'])} voices, STT final {p['stt_final_ms']} ms, "
        f"LLM first token {p['llm_first_token_ms']} ms, TTS first byte {p['tts_first_byte_ms']} "
        f"ms, STT endpointing {p['stt_endpointing_ms']} ms ==",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(_row(lv)) + " |" for lv in data["levels"]]
    lines.append(
        "targets: v2v p50 <= 550 ms, wait p95 <= 400 ms, v2v max <= 1500 ms, 0 replies into "
        "0.6 s pauses and <= 1 in 20 into 1.0 s, 0 false barge-ins, backchannel pause <= 600 ms, "
        "stop p95 <= 400 ms"
    )
    for lv in data["levels"]:
        s = lv["summary"]
        lines.append(
            f"{lv['calls']} calls: turn ends {s['turn_ends']}, barge-ins {s['barge_ins']}, "
            f"wall {lv['wall_secs']} s" + (f", failures {s['failures']}" if s["failures"] else "")
        )
        c = s["complete"]
        if c.get("ask", {}).get("n"):
            lines.append(
                f"{lv['calls']} calls, complete turns p50 / p95 (ms): voice end → STT final "
                f"{_ms(c['final']['p50'])} / {_ms(c['final']['p95'])}, → LLM asked "
                f"{_ms(c['ask']['p50'])} / {_ms(c['ask']['p95'])}; LLM asked → bot voice "
                f"{_ms(c['after_ask']['p50'])} / {_ms(c['after_ask']['p95'])}"
            )
        lag = s.get("bench_loop_lag") or {}
        if lag.get("samples"):
            lines.append(
                f"{lv['calls']} calls, the callers' own loop late by p50 / p95 / max (ms): "
                f"{_ms(lag['p50_secs'])} / {_ms(lag['p95_secs'])} / {_ms(lag['max_secs'])}"
            )
    return "\n".join(lines)
