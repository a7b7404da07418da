"""Caller-side figures of a run: voice-to-voice, overhead, greeting, gaps, failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bench import scenario
from bench.calls import CallOutcome


def pct(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), or None for no values."""
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 4)


def spread(values: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, min, max and mean of a list of seconds."""
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "min": round(min(values), 4) if values else None,
        "max": round(max(values), 4) if values else None,
        "mean": round(float(np.mean(values)), 4) if values else None,
    }


def turn_rows(
    outcomes: Sequence[CallOutcome], profile: dict[str, Any], vad_stop_secs: float
) -> list[dict[str, Any]]:
    """One row per answered caller turn: v2v, provider latency and overhead (seconds)."""
    rows = []
    for outcome in outcomes:
        if outcome.result is None:
            continue
        for turn, exchange in zip(outcome.result.turns, outcome.exchanges, strict=False):
            v2v = turn.voice_to_voice_secs
            if v2v is None:
                continue
            provider = scenario.provider_latency_secs(profile, exchange.reply)
            rows.append(
                {
                    "call": outcome.index,
                    "turn": turn.index,
                    "phrase": exchange.phrase,
                    "reply_first_sentence_tokens": scenario.token_count(
                        scenario.first_sentence(exchange.reply)
                    ),
                    "voice_to_voice_secs": v2v,
                    "provider_latency_secs": round(provider, 4),
                    "turn_detection_secs": vad_stop_secs,
                    "overhead_secs": round(v2v - provider - vad_stop_secs, 4),
                }
            )
    return rows


def caller_summary(
    outcomes: Sequence[CallOutcome],
    profile: dict[str, Any],
    vad_stop_secs: float,
    gap_threshold_secs: float = 0.06,
) -> dict[str, Any]:
    """Everything the callers measured, aggregated over the run.

    Args:
        outcomes: The calls.
        profile: The doubles' latency profile in force.
        vad_stop_secs: The turn-detection wait subtracted in the overhead.
        gap_threshold_secs: Gap length the callers counted as audible (60 ms).

    Returns:
        A JSON-ready dict (times in seconds).
    """
    rows = turn_rows(outcomes, profile, vad_stop_secs)
    results = [o.result for o in outcomes if o.result is not None and o.result.connected]
    greetings = [r.time_to_first_audio_secs for r in results if r.time_to_first_audio_secs]
    first_bytes = [r.time_to_first_bot_byte_secs for r in results if r.time_to_first_bot_byte_secs]
    failures = {o.index: o.failure for o in outcomes if o.failure}
    per_call_max_gap = [r.max_gap_secs for r in results]
    gappy = [r for r in results if r.gaps_over_threshold > 0]
    return {
        "calls": len(outcomes),
        "failed_calls": len(failures),
        "failures": failures,
        "turns_answered": len(rows),
        "voice_to_voice_secs": spread([r["voice_to_voice_secs"] for r in rows]),
        "overhead_secs": spread([r["overhead_secs"] for r in rows]),
        "provider_latency_secs": spread([r["provider_latency_secs"] for r in rows]),
        "voice_to_voice_by_turn_secs": {
            str(i): spread([r["voice_to_voice_secs"] for r in rows if r["turn"] == i])
            for i in sorted({r["turn"] for r in rows})
        },
        "first_greeting_secs": spread(greetings),
        "first_greeting_byte_secs": spread(first_bytes),
        "gaps": {
            "threshold_secs": gap_threshold_secs,
            "max_gap_secs": round(max(per_call_max_gap, default=0.0), 4),
            "gaps_over_threshold": int(sum(r.gaps_over_threshold for r in results)),
            "calls_with_gap_over_threshold": len(gappy),
            "fraction_of_calls_with_gap": round(len(gappy) / len(results), 4) if results else None,
        },
        "turn_rows": rows,
    }
