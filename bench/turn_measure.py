"""Turn-taking figures of one simulated call, measured where the caller is.

Caller times are seconds since the call's Twilio ``start`` (``simulators/callers``); bot voice is
10 ms frames of played-out audio with RMS above the callers' voice threshold (300).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from bench.stages import last_user, norm
from bench.turn_plan import BARGE_AFTER_SECS, SHORT_REPLY, TurnSpec
from simulators.callers.result import CallResult

VOICE_RMS = 300.0
FRAME_SECS = 0.01
FULL_REPLY_SHARE = 0.9  # a resumed reply counts as heard if this much of its voice was heard
RESUME_WINDOW_SECS = 1.5  # a backchannel's pause that does not end within this never resumed


def voiced_secs(result: CallResult, start: float, end: float) -> float:
    """Seconds of bot voice the caller heard between ``start`` and ``end``."""
    audio = result.bot_audio
    n = int(FRAME_SECS * 8000)
    a, b = max(0, int(start * 8000)), min(len(audio), int(end * 8000))
    if b - a < n:
        return 0.0
    frames = audio[a : a + (b - a) // n * n].astype(np.float64).reshape(-1, n)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return float(np.count_nonzero(rms > VOICE_RMS)) * FRAME_SECS


def _first_voice_after(result: CallResult, t: float) -> float | None:
    starts = [u.start for u in result.bot_utterances if u.start >= t]
    return min(starts) if starts else None


def _first_media_after(result: CallResult, t: float) -> float | None:
    """When bot audio next arrived after ``t`` (after a ``clear`` it plays at once)."""
    return next(
        (m.t for m in result.messages if m.direction == "received" and m.event == "media"
         and m.t > t),
        None,
    )


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def provider_secs(profile: dict[str, Any], reply: str = SHORT_REPLY) -> float:
    """Configured provider latency of a reply: STT final + LLM first sentence + TTS first byte."""
    first = reply.split(". ")[0] + "."
    tokens = len(first.split())
    return (
        profile["stt_final_ms"]
        + profile["llm_first_token_ms"]
        + tokens / profile["llm_tokens_per_sec"] * 1000
        + profile["tts_first_byte_ms"]
    ) / 1000


def measure_call(
    result: CallResult,
    roles: list[tuple[int, TurnSpec, str]],
    profile: dict[str, Any],
    llm_requests: list[dict[str, Any]],
    wall_offset: float,
    finals: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One row per measured turn of a call.

    Args:
        result: What the caller measured.
        roles: ``bench.turn_plan.script``'s turn roles.
        profile: The doubles' latency profile.
        llm_requests: Every request the LLM double received (for early answers).
        wall_offset: Add to a monotonic time to get wall time (``bench.stages.mono_to_wall``).
        finals: Every final transcript the STT double sent (for the stages of a turn).

    Returns:
        Rows (dicts) with ``kind``, ``voice``, ``item`` and the kind's figures.
    """
    turns = {t.index: t for t in result.turns}
    finals = finals or []
    calibrated: float | None = None
    rows: list[dict[str, Any]] = []
    for index, spec, role in roles:
        turn = turns.get(index)
        if turn is None or role == "trigger":
            continue
        row: dict[str, Any] = {"kind": spec.kind, "voice": spec.item.voice, "item": spec.item.id}
        next_start = turns[index + 1].start if index + 1 in turns else result.duration_secs
        if spec.kind == "calibrate":
            reply = _first_voice_after(result, turn.end)
            calibrated = voiced_secs(result, reply, next_start) if reply is not None else None
            row["heard_secs"] = calibrated
        elif spec.kind == "complete":
            row.update(_complete(turn, profile))
            row.update(_stages(result, turn, spec, llm_requests, finals, wall_offset))
        elif spec.kind == "pause":
            row.update(_pause(result, turn, spec, llm_requests, wall_offset))
        elif spec.kind == "backchannel":
            trigger = turns.get(index - 1)
            row.update(_backchannel(result, turn, trigger, next_start, calibrated))
        elif spec.kind == "interrupt":
            row.update(_interrupt(result, turn))
        rows.append(row)
    return rows


def _complete(turn, profile: dict[str, Any]) -> dict[str, Any]:
    v2v = turn.voice_to_voice_secs
    provider = provider_secs(profile)
    return {
        "v2v_secs": v2v,
        "provider_secs": round(provider, 3),
        "wait_secs": None if v2v is None else round(v2v - provider, 3),
    }


def _stages(result, turn, spec: TurnSpec, requests, finals, wall_offset: float) -> dict[str, Any]:
    """Seconds from the caller's voice end to the STT double's final and to the LLM request.

    The first final (or request) after the voice ended that holds the utterance's last words.
    """
    end = result.t0_monotonic + turn.end + wall_offset
    last = norm(spec.item.chunks[-1])

    def first(records: list[dict[str, Any]], text) -> float | None:
        times = [float(r["time"]) for r in records if r["time"] >= end - 0.05 and last in text(r)]
        return round(min(times) - end, 4) if times else None

    return {
        "final_secs": first(finals, lambda r: norm(r.get("text", ""))),
        "ask_secs": first(requests, lambda r: last_user(r.get("messages") or [])),
    }


def _pause(result, turn, spec: TurnSpec, requests, wall_offset: float) -> dict[str, Any]:
    first_end = turn.start + (spec.item.pause_at_secs or 0.0)
    bot = _first_voice_after(result, first_end)
    early_audio = bot is not None and bot < turn.end
    first, second = (_norm(c) for c in spec.item.chunks[:2])
    lo = result.t0_monotonic + first_end + wall_offset
    hi = result.t0_monotonic + turn.end + wall_offset
    early_llm = False
    for r in requests:
        if lo <= r["time"] <= hi:
            users = [m for m in r["messages"] if m.get("role") == "user"]
            last = _norm(str(users[-1]["content"])) if users else ""
            early_llm |= first in last and second not in last
    return {
        "pause_secs": spec.item.pause_secs,
        "premature": early_audio,
        "early_llm": early_llm,
        "v2v_secs": turn.voice_to_voice_secs,
    }


def _backchannel(result, turn, trigger, next_start: float, calibrated: float | None):
    clears = [c for c in result.clears if c >= turn.start - 0.05]
    clear = clears[0] if clears and clears[0] <= turn.end + RESUME_WINDOW_SECS else None
    resume = _first_media_after(result, clear) if clear is not None else None
    resumed = clear is None or (resume is not None and resume - clear <= RESUME_WINDOW_SECS)
    reply_start = None
    if trigger is not None and trigger.reply_utterance is not None:
        reply_start = result.bot_utterances[trigger.reply_utterance].start
    heard = voiced_secs(result, reply_start, next_start) if reply_start is not None else None
    share = heard / calibrated if heard is not None and calibrated else None
    stopped = not resumed or (share is not None and share < FULL_REPLY_SHARE)
    return {
        "paused": clear is not None,
        "pause_started_secs": None if clear is None else round(clear - turn.start, 3),
        "paused_secs": None if clear is None or resume is None else round(resume - clear, 3),
        "heard_share": None if share is None else round(share, 3),
        "false_barge_in": stopped,
        "over_bot_after_secs": BARGE_AFTER_SECS,
    }


def _interrupt(result, turn) -> dict[str, Any]:
    barge = next((b for b in result.barge_ins if b.turn_index == turn.index), None)
    stop = barge.audio_stop_secs if barge is not None else None
    return {
        "stop_secs": stop,
        "clear_secs": barge.clear_latency_secs if barge is not None else None,
        "bot_was_speaking": barge.bot_speaking if barge is not None else None,
        "missed": stop is None or stop > 1.0,
    }


def backchannel_llm_turns(llm_requests: list[dict[str, Any]], texts: set[str]) -> int:
    """LLM requests whose last user message is only a backchannel (the bot took a turn)."""
    wanted = {_norm(t) for t in texts}
    count = 0
    for r in llm_requests:
        users = [m for m in r["messages"] if m.get("role") == "user"]
        if users and _norm(str(users[-1]["content"])) in wanted:
            count += 1
    return count
