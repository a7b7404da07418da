"""Where a turn's time went: match each caller turn to the doubles' STT final and LLM request.

The doubles record wall-clock times of every final transcript they sent and every chat request
they received, but not which call it belonged to. A turn is matched to the earliest unclaimed
record with the same phrase after the caller stopped speaking (the phrase rotation keeps that
unambiguous enough at the loads we run). This separates time spent before the LLM was asked
(VAD, smart-turn, the STT double) from time spent after (LLM, TTS, output, playout).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from bench.calls import CallOutcome
from bench.stats import spread


def mono_to_wall() -> float:
    """Add this to a ``time.monotonic()`` reading of this process to get wall-clock time."""
    return time.time() - time.monotonic()


def norm(text: str) -> str:
    """Lower-case words and apostrophes only (how phrases are compared)."""
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def last_user(messages: list[dict[str, Any]]) -> str:
    """The last user message of an LLM request, normalised (:func:`norm`)."""
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return norm(str(content or ""))
    return ""


def _claim(times: list[tuple[float, str]], used: set[int], after: float, phrase: str) -> float:
    for i, (t, text) in enumerate(times):
        if i not in used and t >= after and phrase in text:
            used.add(i)
            return t
    return float("nan")


def turn_stages(
    outcomes: Sequence[CallOutcome],
    transcripts: list[dict[str, Any]],
    llm_requests: list[dict[str, Any]],
    offset: float,
) -> list[dict[str, Any]]:
    """Per answered turn: seconds from the caller's voice end to the STT final and LLM request.

    Args:
        outcomes: The calls.
        transcripts: ``DoublesClient.stt_transcripts()`` (``time`` is wall clock).
        llm_requests: ``DoublesClient.llm_requests()``.
        offset: :func:`mono_to_wall` of the bench process.

    Returns:
        Rows with ``call``, ``turn``, ``stt_final_secs``, ``llm_request_secs`` and
        ``after_llm_request_secs`` (voice-to-voice minus ``llm_request_secs``); None if unmatched.
    """
    finals = sorted((float(t["time"]), norm(t.get("text", ""))) for t in transcripts)
    asks = sorted((float(r["time"]), last_user(r.get("messages") or [])) for r in llm_requests)
    turns = []
    for o in outcomes:
        if o.result is None:
            continue
        for turn, ex in zip(o.result.turns, o.exchanges, strict=False):
            end = o.result.t0_monotonic + turn.end + offset
            turns.append((end, o.index, turn.index, norm(ex.phrase), turn.voice_to_voice_secs))
    used_f: set[int] = set()
    used_a: set[int] = set()
    rows = []
    for end, call, index, phrase, v2v in sorted(turns):
        final = _claim(finals, used_f, end, phrase) - end
        ask = _claim(asks, used_a, end, phrase) - end
        rows.append(
            {
                "call": call,
                "turn": index,
                "stt_final_secs": _r(final),
                "llm_request_secs": _r(ask),
                "after_llm_request_secs": None if v2v is None or not ask <= v2v else _r(v2v - ask),
            }
        )
    return rows


def _r(value: float) -> float | None:
    return None if value != value else round(value, 4)


def stage_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95 of each stage over the matched turns."""

    def ok(key: str) -> list[float]:
        return [r[key] for r in rows if r[key] is not None]

    return {
        "voice_end_to_stt_final_secs": spread(ok("stt_final_secs")),
        "voice_end_to_llm_request_secs": spread(ok("llm_request_secs")),
        "llm_request_to_bot_audio_secs": spread(ok("after_llm_request_secs")),
        "unmatched_turns": sum(1 for r in rows if r["llm_request_secs"] is None),
    }
