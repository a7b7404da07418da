"""Per-turn and per-call figures of a soak, measured at the caller (pure functions).

Caller times are seconds since the call's Twilio ``start``; bot voice is a 10 ms frame of
played-out audio with RMS above the callers' voice threshold (300), as in
``bench/turn_measure.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.soak_faults import FaultEvent
from bench.turn_measure import FRAME_SECS, VOICE_RMS
from simulators.callers.result import CallResult

ANSWER_WITHIN_SECS = 9.5  # the reply watch's apology comes ~8.5 s after a turn at the latest
COLLATERAL_BEFORE_SECS = 0.5  # a drop this long before a turn started still hits it
COLLATERAL_AFTER_SECS = 3.0  # ... and one this long after it ended (no reply heard yet)


def voiced_frames(audio: np.ndarray, rate: int = 8000, threshold: float = VOICE_RMS) -> np.ndarray:
    """One bool per 10 ms frame of ``audio``: whether its RMS is above ``threshold``."""
    n = int(FRAME_SECS * rate)
    frames = audio[: len(audio) // n * n].astype(np.float64).reshape(-1, n)
    return np.sqrt(np.mean(frames * frames, axis=1)) > threshold


def first_voice(voiced: np.ndarray, start: float, end: float) -> tuple[float | None, float | None]:
    """The first bot voice the caller heard in ``[start, end)``.

    Args:
        voiced: :func:`voiced_frames` of the call's played-out bot audio.
        start: Seconds (the end of the caller's turn).
        end: Seconds (the caller's next turn, or the end of the call).

    Returns:
        ``(any, onset)``: the first voiced frame's time, and the first voiced frame that is not
        the continuation of bot speech already playing at ``start`` (a new utterance), each
        None if there is none.
    """
    a, b = max(0, int(np.ceil(start / FRAME_SECS))), min(len(voiced), int(end / FRAME_SECS))
    window = voiced[a:b]
    hits = np.flatnonzero(window)
    if not len(hits):
        return None, None
    first = (a + int(hits[0])) * FRAME_SECS
    skip = 0
    if window[0] and a > 0 and voiced[a - 1]:  # speech that began before the turn ended
        quiet = np.flatnonzero(~window)
        if not len(quiet):
            return round(first, 3), None
        skip = int(quiet[0])
    onsets = np.flatnonzero(window[skip:])
    onset = None if not len(onsets) else round((a + skip + int(onsets[0])) * FRAME_SECS, 3)
    return round(first, 3), onset


def turn_rows(result: CallResult, call: int, faults: Sequence[str | None]) -> list[dict[str, Any]]:
    """One row per caller turn: when the caller first heard the bot after it, if at all.

    Args:
        result: What the caller measured.
        call: The call's index.
        faults: The planned fault of each turn (``CallPlan.faults``).

    Returns:
        Rows with ``call``, ``turn``, ``fault``, ``start``/``end`` (monotonic seconds),
        ``heard_secs`` (end of turn → first bot voice), ``reply_secs`` (→ first new bot
        utterance), ``silent`` (no bot voice before the next turn or the hang-up) and
        ``unanswered`` (no new bot utterance within :data:`ANSWER_WITHIN_SECS`).
    """
    voiced = voiced_frames(result.bot_audio, result.sample_rate)
    rows = []
    turns = result.turns
    for i, turn in enumerate(turns):
        limit = turns[i + 1].start if i + 1 < len(turns) else result.duration_secs
        first, onset = first_voice(voiced, turn.end, limit)
        reply = None if onset is None else round(onset - turn.end, 3)
        rows.append({
            "call": call,
            "turn": i,
            "fault": faults[i] if i < len(faults) else None,
            "closing": i == len(faults) - 1,
            "start": round(result.t0_monotonic + turn.start, 3),
            "end": round(result.t0_monotonic + turn.end, 3),
            "heard_secs": None if first is None else round(first - turn.end, 3),
            "reply_secs": reply,
            "silent": first is None,
            "unanswered": reply is None or reply > ANSWER_WITHIN_SECS,
        })
    return rows


def drop_reason(result: CallResult | None, planned_turns: int, rows: list[dict[str, Any]],
                crash: str | None = None) -> str | None:
    """Why a call counts as dropped (None: it ended with the bot's goodbye, as it should).

    Args:
        result: What the caller measured (None if the caller crashed).
        planned_turns: Caller turns in the script (the last is the closing).
        rows: :func:`turn_rows` of the call.
        crash: The caller's exception, if it crashed.
    """
    if crash is not None or result is None:
        return f"caller crashed: {crash}"
    if result.rejected:
        return f"webhook rejected: {result.rejected_text}"
    if not result.connected:
        return "websocket never connected"
    if any("max_duration" in e for e in result.errors):
        return "max duration reached"
    if result.hung_up_by_bot and len(result.turns) < planned_turns:
        return f"bot hung up after {len(result.turns)} of {planned_turns} turns"
    if not result.hung_up_by_bot:
        return "no goodbye: the bot never hung up"
    if not rows or rows[-1]["heard_secs"] is None:
        return "hung up without a goodbye heard"
    return None


def attribute(rows: list[dict[str, Any]], events: Sequence[FaultEvent]) -> None:
    """Mark each row with its own fault's injection and the other drops that hit it (in place).

    A row's ``injected`` is whether its planned fault took effect; ``collateral`` lists the
    kinds of the other injected drops (the control API closes every call's socket of the
    service) from :data:`COLLATERAL_BEFORE_SECS` before the turn started until its reply (or
    :data:`COLLATERAL_AFTER_SECS` after it ended).
    """
    own = {(e.call, e.turn, e.kind): e for e in events}
    drops = [e for e in events if e.injected and e.kind.endswith("_drop")]
    for row in rows:
        mine = own.get((row["call"], row["turn"], row["fault"]))
        row["injected"] = bool(mine and mine.injected)
        until = row["end"] + (row["reply_secs"] if row["reply_secs"] is not None
                              else COLLATERAL_AFTER_SECS)
        row["collateral"] = sorted({
            e.kind for e in drops
            if (e.call, e.turn) != (row["call"], row["turn"])
            and row["start"] - COLLATERAL_BEFORE_SECS <= e.at <= until
        })


def group_of(row: dict[str, Any]) -> str:
    """``faulted`` (its own fault took effect), ``clean`` (no fault near it) or ``collateral``."""
    if row["fault"] is not None and row.get("injected"):
        return "faulted"
    if row.get("collateral"):
        return "collateral"
    return "clean" if row["fault"] is None else "not_injected"


def failover_counts(metrics_text: str) -> dict[str, float]:
    """``switchboard_failovers_total`` samples by label set (``{}`` if the counter is absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == "switchboard_failovers_total":
                key = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) or "-"
                out[key] = out.get(key, 0.0) + s.value
    return out
