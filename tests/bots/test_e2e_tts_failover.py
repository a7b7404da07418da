"""The TTS fails mid-reply and a backup TTS takes over: heard at the caller, stored as heard.

Incident (issue 15): after a switch to the backup TTS mid-reply, the rest of that reply was
never said (only a greeting the failed TTS swallowed was). Each test calls the receptionist
(ElevenLabs, with ``TTS_BACKUP_PROVIDER=cartesia``) as a Twilio caller; the ElevenLabs double
closes its socket 3 audio messages into the reply and refuses new ones, so the call switches to
Cartesia. Then the primary comes back, and the next reply is the primary's again.
"""

import asyncio

from simulators.callers.script import HangUp, Say, Wait, WaitForBotSilence
from tests.bots.test_e2e_no_silent_turn import _greeting_heard, _said
from tests.bots.test_e2e_tts_drop import (
    AFTER_AUDIO,
    FOLLOW_UP,
    QUESTION,
    REPLY,
    _assistant_turns,
    _full_reply_secs,
    _heard_secs,
    _last_heard_last,
    _line,
)


async def _call(
    doubles, twilio_caller, launcher_factory, refuse_secs: float, pause_secs: float, **env
):
    """Ask, have ElevenLabs fail mid-reply (refusing for ``refuse_secs``), pause, follow up."""
    launcher = _line(doubles, launcher_factory, TTS_BACKUP_PROVIDER="cartesia", **env)
    script = [WaitForBotSilence(timeout=15), Wait(0.3), Say(QUESTION)]
    script += [WaitForBotSilence(timeout=30), Wait(pause_secs), Say(FOLLOW_UP)]
    script += [WaitForBotSilence(timeout=15), HangUp()]
    call = asyncio.create_task(twilio_caller(launcher).run(script))
    call_id = await _greeting_heard(launcher)
    await doubles.client.adrop_mid_reply(
        "elevenlabs", after_audio=AFTER_AUDIO, code=1011, refuse_secs=refuse_secs
    )
    result = await call
    assert result.errors == [], result.errors
    stats = (await doubles.client.astats())["services"]
    assert stats["elevenlabs"].get("scripted_drops") == 1, stats["elevenlabs"]
    assert stats["elevenlabs"].get("refused", 0) >= 1, stats["elevenlabs"]
    [reply] = [
        u for u in result.bot_utterances if result.turns[0].end < u.start < result.turns[1].start
    ]
    return result, reply, launcher.get(f"/calls/{call_id}").json(), stats


async def test_tts_backup_speaks_the_rest_of_the_reply(doubles, twilio_caller, launcher_factory):
    """The caller hears the whole reply, once, as one utterance: the start in ElevenLabs'
    voice, the rest (from the first word not heard) in Cartesia's. The transcript and the LLM
    context hold each word once; the follow-up is answered by the backup."""
    result, reply, details, stats = await _call(
        doubles, twilio_caller, launcher_factory, refuse_secs=60, pause_secs=0.3
    )
    full = await _full_reply_secs(result.sample_rate)
    heard = _heard_secs(reply, result.sample_rate)
    assert 0.9 * full <= heard <= full + 1.5, (heard, full)
    _last_heard_last(result, reply)
    assert stats["cartesia_tts"]["contexts"] == 2, stats["cartesia_tts"]  # the rest, "Okay."
    [answer] = [u for u in result.bot_utterances if u.start > result.turns[1].end]
    assert _said(answer, ["Okay.", REPLY], result.sample_rate) == "Okay."
    stored = [t["text"] for t in _assistant_turns(details)][1:]  # after the greeting
    assert " ".join(stored).split() == REPLY.split() + ["Okay."], stored
    [request] = [r for r in doubles.client.llm_requests() if FOLLOW_UP in str(r).lower()]
    said = [m["content"] for m in request["messages"] if m["role"] == "assistant"][1:]
    assert " ".join(said).split() == REPLY.split(), said
    assert [(f["stage"], f["to"], f["provider"]) for f in details["failovers"]] == [
        ("tts", "backup", "cartesia")
    ]


async def test_tts_goes_back_to_the_primary_when_it_recovers(
    doubles, twilio_caller, launcher_factory
):
    """ElevenLabs refuses connects for 2 s only: the backup finishes the reply, the primary is
    probed (every second here) and the follow-up is answered in the primary's voice."""
    result, _, details, stats = await _call(
        doubles, twilio_caller, launcher_factory, refuse_secs=2, pause_secs=4, LLM_PROBE_SECS="1"
    )
    [answer] = [u for u in result.bot_utterances if u.start > result.turns[1].end]
    assert _said(answer, ["Okay.", REPLY], result.sample_rate) == "Okay."
    assert stats["cartesia_tts"]["contexts"] == 1, stats["cartesia_tts"]  # the rest only
    assert stats["elevenlabs"]["contexts"] == 3, stats["elevenlabs"]  # greeting, reply, "Okay."
    assert [(f["stage"], f["to"]) for f in details["failovers"]] == [
        ("tts", "backup"),
        ("tts", "primary"),
    ]
    assert details["failovers"][1]["reason"] == "recovered"
