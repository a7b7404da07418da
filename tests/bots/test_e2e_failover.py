"""A failing LLM is answered by the backup LLM: heard at the caller, recorded on the call.

Incident (issue 15, fault proxy): an LLM that hung gave the caller 30.6 s of dead air. With
``LLM_BACKUP_PROVIDER`` set, the caller hears the persona's filler, then the backup's answer
soon after the primary's first-token bound; the switch is counted and stored on the call.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from assembly.persona import TurnSettings
from config import Settings
from simulators.callers.script import HangUp, Say, Wait, WaitForBotSilence
from tests.bots.scenario import BOOKING
from tests.bots.test_e2e_no_silent_turn import (
    HOURS,
    OPEN,
    _greeting_heard,
    _phrases,
    _replies_to,
    _said,
)
from tests.eventually import aeventually

TURNS = TurnSettings()
DEFAULTS = Settings(_env_file=None)
BACKUP_SAYS = "Happy to help you book that."


async def _stored_metadata(launcher, call_id: str) -> dict:
    """The ended call row's metadata, once the call's end is written."""
    db = sqlite3.connect(Path(launcher.env["DATA_DIR"]) / "switchboard.db")
    try:
        row = await aeventually(
            lambda: db.execute(
                "SELECT metadata FROM calls WHERE id = ? AND status = 'ended'", [call_id]
            ).fetchone(),
            timeout=10,
            what=f"call {call_id}'s ended row",
        )
        return json.loads(row[0])
    finally:
        db.close()


def _line(doubles, launcher_factory, primary_fault: dict):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING, HOURS])
    doubles.client.llm_rules(
        [
            {"match": "book", "model": DEFAULTS.openai_model, **primary_fault},
            {"match": "book", "reply": BACKUP_SAYS},
            {"match": "hours", "reply": OPEN},
        ]
    )
    return launcher_factory(ANALYSIS_ENABLED="false", LLM_BACKUP_PROVIDER="groq")


async def test_llm_hang_gets_filler_within_budget_then_backup_llm(
    doubles, twilio_caller, launcher_factory
):
    launcher = _line(doubles, launcher_factory, {"reply": "Sure.", "first_token_ms": 30000})
    result = await twilio_caller(launcher).run(
        [
            WaitForBotSilence(timeout=15),
            Say(BOOKING),
            WaitForBotSilence(timeout=20),
            Say(HOURS),  # the next turn: answered by the backup, at once
            WaitForBotSilence(timeout=20),
            HangUp(),
        ]
    )
    assert result.errors == [], result.errors
    phrases = [TURNS.filler, TURNS.apology, BACKUP_SAYS, OPEN, "Sure."]
    # The answer follows the filler closely: the caller may hear both as one utterance.
    heard = _phrases(_replies_to(result, 0), phrases, result.sample_rate)
    assert [phrase for _, phrase in heard] == [TURNS.filler, BACKUP_SAYS], heard
    ended = result.turns[0].end
    bound = DEFAULTS.llm_first_token_timeout_secs
    assert TURNS.filler_after_secs <= heard[0][0] - ended < bound
    assert bound <= heard[1][0] - ended < bound + 1.5
    [next_answer] = _replies_to(result, 1)
    assert _said(next_answer, phrases, result.sample_rate) == OPEN
    assert next_answer.start - result.turns[1].end < 1.5  # no second wait on the primary

    [call] = launcher.get("/calls").json()
    [switch] = launcher.get(f"/calls/{call['call_id']}").json()["failovers"]
    assert (switch["stage"], switch["to"], switch["provider"]) == ("llm", "backup", "groq")
    assert 'switchboard_failovers_total{stage="llm",to="backup"} 1.0' in (
        launcher.get("/metrics").text
    )
    stored = await _stored_metadata(launcher, call["call_id"])
    assert [(f["stage"], f["to"]) for f in stored["failovers"]] == [("llm", "backup")]


async def test_llm_500_every_attempt_is_answered_by_the_backup_llm(
    doubles, twilio_caller, launcher_factory
):
    launcher = _line(doubles, launcher_factory, {"status": 500})
    result = await twilio_caller(launcher).run(
        [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=20), HangUp()]
    )
    assert result.errors == [], result.errors
    [answer] = _replies_to(result, 0)
    assert _said(answer, [TURNS.apology, BACKUP_SAYS], result.sample_rate) == BACKUP_SAYS
    assert answer.start - result.turns[0].end < 2.5


async def test_tts_refused_all_the_backup_tts_speaks(doubles, twilio_caller, launcher_factory):
    """Incident: a TTS refusing every connection gave a completely silent call. With a backup
    TTS the caller hears the greeting and the answers in the backup's voice."""
    doubles.client.reset()
    doubles.client.stt_phrases([HOURS])
    doubles.client.llm_rules([{"match": "hours", "reply": OPEN}])
    launcher = launcher_factory(
        ANALYSIS_ENABLED="false",
        ELEVENLABS_BASE_URL="ws://127.0.0.1:9",  # nothing listens: every connect is refused
        TTS_BACKUP_PROVIDER="cartesia",
    )
    result = await twilio_caller(launcher).run(
        [WaitForBotSilence(timeout=15), Say(HOURS), WaitForBotSilence(timeout=20), HangUp()]
    )
    assert result.errors == [], result.errors
    assert not result.hung_up_by_bot
    greeting = result.bot_utterances[0]
    assert greeting.start < 5.0 and greeting.end - greeting.start > 1.0  # spoken, not a blip
    [answer] = _replies_to(result, 0)
    assert _said(answer, [OPEN, TURNS.apology], result.sample_rate) == OPEN
    [call] = launcher.get("/calls").json()
    [switch] = launcher.get(f"/calls/{call['call_id']}").json()["failovers"]
    assert (switch["stage"], switch["provider"]) == ("tts", "cartesia")


async def test_stt_down_the_backup_stt_takes_over_with_the_callers_audio(
    doubles, twilio_caller, launcher_factory
):
    """Deepgram's socket drops after the greeting and every reconnect is refused: waiting on it
    would lose the caller's turn. The backup STT takes over with the audio Deepgram kept."""
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING, HOURS])
    doubles.client.llm_rules([{"match": "book", "reply": "Sure, what time?"}])
    launcher = launcher_factory(ANALYSIS_ENABLED="false", STT_BACKUP_PROVIDER="cartesia")
    call = asyncio.create_task(
        twilio_caller(launcher).run(
            [WaitForBotSilence(timeout=15), Wait(0.3), Say(BOOKING), Wait(8), HangUp()]
        )
    )
    await _greeting_heard(launcher)
    assert await doubles.client.adrop("deepgram", refuse_secs=30) == 1
    result = await call
    assert result.errors == [], result.errors
    v2v = result.turns[0].voice_to_voice_secs
    assert v2v is not None, "the caller's turn was lost"
    assert v2v < 3.0, v2v  # the usual reply time plus the takeover's second, with a margin
    [request] = [r for r in doubles.client.llm_requests() if "book" in str(r["messages"])]
    assert BOOKING.lower() in str(request["messages"][-1]["content"]).lower()
    stats = doubles.client.stats()["services"]
    assert stats["deepgram"].get("refused", 0) >= 1 and stats["cartesia_stt"]["opened"] >= 1
    [call_row] = launcher.get("/calls").json()
    [switch] = launcher.get(f"/calls/{call_row['call_id']}").json()["failovers"]
    assert (switch["stage"], switch["provider"], switch["reason"]) == ("stt", "cartesia", "down")


async def test_stt_goes_back_to_the_primary_when_it_recovers(
    doubles, twilio_caller, launcher_factory
):
    """Deepgram drops and refuses reconnects for 2 s: the backup STT takes over for the turn
    spoken meanwhile; Deepgram is probed (every second here) and, once it is back and the
    caller is silent, the next turn is Deepgram's again."""
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING, HOURS])
    doubles.client.llm_rules(
        [{"match": "book", "reply": "Sure, what time?"}, {"match": "hours", "reply": OPEN}]
    )
    launcher = launcher_factory(
        ANALYSIS_ENABLED="false", STT_BACKUP_PROVIDER="cartesia", LLM_PROBE_SECS="1"
    )
    script = [WaitForBotSilence(timeout=15), Wait(0.3), Say(BOOKING), WaitForBotSilence(20)]
    script += [Wait(6), Say(HOURS), WaitForBotSilence(timeout=20), HangUp()]
    call = asyncio.create_task(twilio_caller(launcher).run(script))
    await _greeting_heard(launcher)
    assert await doubles.client.adrop("deepgram", refuse_secs=2) == 1
    result = await call
    assert result.errors == [], result.errors
    assert all(turn.voice_to_voice_secs is not None for turn in result.turns), result.turns
    [answer] = _replies_to(result, 1)
    assert _said(answer, [OPEN, TURNS.apology], result.sample_rate) == OPEN
    heard_by = {t["service"] for t in doubles.client.stt_transcripts() if "hours" in t["text"]}
    assert heard_by == {"deepgram"}, doubles.client.stt_transcripts()
    [call_row] = launcher.get("/calls").json()
    switches = launcher.get(f"/calls/{call_row['call_id']}").json()["failovers"]
    assert [(s["stage"], s["to"], s["reason"]) for s in switches] == [
        ("stt", "backup", "down"),
        ("stt", "primary", "recovered"),
    ]
