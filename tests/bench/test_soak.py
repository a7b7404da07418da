"""The soak's pure parts: silent-turn classification, drop reasons, attribution, the table."""

from __future__ import annotations

import random

import numpy as np

from bench.soak_faults import FAULT_KINDS, LLM_FAULTS, FaultEvent, llm_rules, pick_fault
from bench.soak_measure import (
    attribute,
    drop_reason,
    failover_counts,
    first_voice,
    group_of,
    turn_rows,
)
from bench.soak_report import format_soak, summarize
from simulators.callers.result import CallerTurn, CallResult

RATE = 8000


def _audio(secs: float, voiced: list[tuple[float, float]]) -> np.ndarray:
    """Silence with loud stretches (RMS far above the voice threshold) at ``voiced``."""
    audio = np.zeros(int(secs * RATE), dtype=np.int16)
    for a, b in voiced:
        audio[int(a * RATE) : int(b * RATE)] = 3000
    return audio


def _result(turns: list[tuple[float, float]], voiced: list[tuple[float, float]],
            secs: float = 20.0, hung_up_by_bot: bool = True) -> CallResult:
    r = CallResult("CA1", "MZ1", "AC1", connected=True, t0_monotonic=100.0, duration_secs=secs,
                   hung_up_by_bot=hung_up_by_bot)
    r.turns = [CallerTurn(i, "<pcm>", a, b) for i, (a, b) in enumerate(turns)]
    r.bot_audio = _audio(secs, voiced)
    return r


def _voiced(audio: np.ndarray) -> np.ndarray:
    from bench.soak_measure import voiced_frames

    return voiced_frames(audio, RATE)


def test_first_voice_finds_the_reply_after_the_turn():
    voiced = _voiced(_audio(5.0, [(0.2, 1.0), (3.0, 4.0)]))
    assert first_voice(voiced, 2.0, 5.0) == (3.0, 3.0)
    assert first_voice(voiced, 1.5, 2.9) == (None, None)  # nothing before the next turn


def test_first_voice_skips_speech_that_was_already_playing():
    voiced = _voiced(_audio(5.0, [(1.0, 2.5), (3.5, 4.0)]))
    first, onset = first_voice(voiced, 2.0, 5.0)
    assert first == 2.0  # the caller heard the tail of the earlier utterance ...
    assert onset == 3.5  # ... and the new one only at 3.5 s


def test_turn_rows_classify_silent_and_late_turns():
    # turn 0 answered after 0.8 s; turn 1 never answered before turn 2; turn 2 (closing) answered
    # only after 11 s (an idle prompt, not an answer: heard, so not silent, but unanswered).
    result = _result([(1.0, 2.0), (4.0, 5.0), (8.0, 9.0)], [(2.8, 3.8), (20.0, 20.5)], secs=21.0)
    rows = turn_rows(result, 7, [None, "stt_drop", None])
    assert [r["silent"] for r in rows] == [False, True, False]
    assert [r["unanswered"] for r in rows] == [False, True, True]
    assert rows[0]["reply_secs"] == 0.8 and rows[0]["start"] == 101.0
    assert rows[1]["fault"] == "stt_drop" and rows[1]["reply_secs"] is None
    assert rows[2]["closing"] and rows[2]["heard_secs"] == 11.0


def test_drop_reasons():
    good = _result([(1.0, 2.0), (4.0, 5.0)], [(2.5, 3.5), (5.5, 6.5)])
    rows = turn_rows(good, 0, [None, None])
    assert drop_reason(good, 2, rows) is None
    stayed = _result([(1.0, 2.0), (4.0, 5.0)], [(2.5, 3.5)], hung_up_by_bot=False)
    assert "never hung up" in drop_reason(stayed, 2, turn_rows(stayed, 0, [None] * 2))
    early = _result([(1.0, 2.0)], [(2.5, 3.5)])
    assert "after 1 of 3" in drop_reason(early, 3, turn_rows(early, 0, [None] * 3))
    mute = _result([(1.0, 2.0), (4.0, 5.0)], [(2.5, 3.5)])
    assert "without a goodbye" in drop_reason(mute, 2, turn_rows(mute, 0, [None] * 2))
    assert drop_reason(None, 2, [], crash="OSError()").startswith("caller crashed")


def test_attribute_separates_own_faults_from_collateral_drops():
    rows = [
        {"call": 0, "turn": 0, "fault": "stt_drop", "start": 10.0, "end": 12.0, "reply_secs": 1.0},
        {"call": 1, "turn": 0, "fault": None, "start": 10.5, "end": 11.5, "reply_secs": 0.9},
        {"call": 2, "turn": 0, "fault": None, "start": 30.0, "end": 31.0, "reply_secs": 0.9},
        {"call": 3, "turn": 0, "fault": "tts_drop", "start": 40.0, "end": 41.0, "reply_secs": 1},
    ]
    events = [FaultEvent("stt_drop", 0, 0, 11.0, True),
              FaultEvent("tts_drop", 3, 0, 42.0, False, "dropped 0")]
    attribute(rows, events)
    assert [group_of(r) for r in rows] == ["faulted", "collateral", "clean", "not_injected"]
    assert rows[1]["collateral"] == ["stt_drop"] and rows[0]["collateral"] == []


def test_pick_fault_rate_and_closing():
    rng = random.Random(3)
    drawn = [pick_fault(rng, 0.15, FAULT_KINDS, closing=False) for _ in range(4000)]
    assert 0.12 < sum(f is not None for f in drawn) / len(drawn) < 0.18
    assert {f for f in drawn if f} == set(FAULT_KINDS)
    closing = {pick_fault(rng, 1.0, FAULT_KINDS, closing=True) for _ in range(200)}
    assert closing == {"stt_drop", "tts_drop"}  # a closing's reply is the end_call goodbye
    assert pick_fault(rng, 0.0, FAULT_KINDS, closing=False) is None


def test_llm_rules_target_the_primary_model_only_when_asked():
    with_model = llm_rules("gpt-4o-mini")
    assert [r.get("model") for r in with_model[:2]] == ["gpt-4o-mini"] * 2
    assert all("model" not in r for r in llm_rules(None))
    assert LLM_FAULTS["llm_5xx"].lower().startswith(with_model[0]["match"].lower())


def test_failover_counts_reads_the_counter_or_nothing():
    text = ('# TYPE switchboard_failovers_total counter\n'
            'switchboard_failovers_total{stage="llm",to="groq"} 3.0\n'
            '# TYPE switchboard_active_calls gauge\nswitchboard_active_calls 0.0\n')
    assert failover_counts(text) == {"stage=llm,to=groq": 3.0}
    assert failover_counts("# TYPE x gauge\nx 1.0\n") == {}


def test_summary_and_table():
    rows = [
        {"call": 0, "turn": 0, "fault": None, "injected": False, "collateral": [],
         "reply_secs": 0.8, "silent": False, "unanswered": False},
        {"call": 0, "turn": 1, "fault": None, "injected": False, "collateral": [],
         "reply_secs": 1.2, "silent": False, "unanswered": False},
        {"call": 1, "turn": 0, "fault": "llm_5xx", "injected": True, "collateral": [],
         "reply_secs": 2.0, "silent": False, "unanswered": False},
        {"call": 1, "turn": 1, "fault": "stt_drop", "injected": True, "collateral": [],
         "reply_secs": None, "silent": True, "unanswered": True},
    ]
    calls = [{"dropped": None}, {"dropped": "no goodbye: the bot never hung up"}]
    events = [{"kind": "llm_5xx", "injected": True, "detail": ""},
              {"kind": "stt_drop", "injected": True, "detail": ""},
              {"kind": "tts_drop", "injected": False, "detail": "tts_drop: dropped 0"}]
    s = summarize(rows, calls, events, {"start_mb": 300.0, "end_mb": 312.5}, {})
    assert s["silent_turns"] == 1 and s["silent_by_group"] == {"faulted": 1}
    assert s["dropped_calls"] == 1 and s["drop_reasons"] == {"no goodbye": 1}
    assert s["latency"]["clean"]["p50"] == 1.0 and s["latency"]["clean"]["n"] == 2
    assert s["latency"]["faulted"]["n"] == 1 and s["latency"]["llm_5xx"]["p95"] == 2.0
    assert s["faults_injected"]["tts_drop"] == 0 and s["faults_planned"]["tts_drop"] == 1
    assert s["rss"]["growth_mb"] == 12.5
    data = {"summary": s, "calls": 2, "minutes": 1, "fault_rate": 0.15, "backup_llm": None,
            "llm_fault_model": "gpt-4o-mini", "seed": 1, "wall_secs": 60.0, "llm_models": {}}
    table = format_soak(data)
    assert "| silent turns (no bot audio before the next turn or hang-up) | 1 " in table
    assert "clean turns p50 / p95 (ms) | 1000 / 1180 (n=2)" in table
    assert "tts_drop 0/1" in table and "300 → 312 (+12 MB" in table
    assert "not injected: tts_drop: dropped 0" in table
