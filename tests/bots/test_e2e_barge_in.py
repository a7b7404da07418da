"""Barge-in incidents, at the caller: backchannels never stop the bot, "wait" stops it at once.

Issue 10 measured the old barge-in: every "mm-hmm" or "okay" over the bot sent a Twilio
``clear`` and the bot abandoned its reply (8 of 8), and a real interruption took 0.57 s at load.
Each test here speaks corpus voices over a long reply and checks what the caller heard, which
``clear`` messages arrived, and which LLM requests were made.
"""

import pytest

from bench.turn_plan import BARGE_AFTER_SECS, LONG_REPLY, trigger_pcm
from simulators.callers.script import (
    BargeIn,
    HangUp,
    Say,
    Wait,
    WaitForBotSilence,
    WaitForBotSpeech,
)
from tests.bots.turn_line import (
    VOICES,
    heard_after,
    item,
    last_user_messages,
    open_line,
)


def _ask_for_the_long_reply(voice: str) -> list:
    return [Say(trigger_pcm(voice)), WaitForBotSpeech(timeout=15)]


def _interrupt_the_long_reply(voice: str, speech) -> list:
    return [
        WaitForBotSilence(timeout=15),
        *_ask_for_the_long_reply(voice),
        BargeIn(speech, after_bot_audio_secs=BARGE_AFTER_SECS),
        WaitForBotSilence(timeout=20),
        HangUp(),
    ]


def _last_user(request: dict) -> str:
    return str([m for m in request["messages"] if m["role"] == "user"][-1]["content"])


def _reply_heard(result, turn_index: int) -> float:
    """Bot voice heard from the reply to caller turn ``turn_index`` until the next turn."""
    turns = result.turns
    reply = result.bot_utterances[turns[turn_index].reply_utterance].start
    end = turns[turn_index + 2].start if turn_index + 2 < len(turns) else result.duration_secs
    return heard_after(result, reply) - heard_after(result, end)


async def test_okay_while_the_bot_speaks_does_not_interrupt(
    doubles, twilio_caller, launcher_factory
):
    okays = [item("backchannel", "okay", v) for v in VOICES[:2]]
    line = open_line(doubles, launcher_factory, okays)
    steps = [WaitForBotSilence(timeout=15)]
    steps += [*_ask_for_the_long_reply(VOICES[0]), WaitForBotSilence(timeout=25)]  # in full
    for okay in okays:
        steps += [
            *_ask_for_the_long_reply(okay.voice),
            BargeIn(okay.pcm, after_bot_audio_secs=BARGE_AFTER_SECS),
            WaitForBotSilence(timeout=25),
        ]
    result = await twilio_caller(line).run([*steps, HangUp()])
    assert result.errors == [], result.errors
    full = _reply_heard_whole(result, 0)
    for turn in (1, 3):  # each trigger; the "okay" is the turn after it
        heard = _reply_heard(result, turn)
        assert heard >= 0.9 * full, f"reply cut short: heard {heard:.2f} s of {full:.2f} s"
    # No LLM turn for the acknowledgements: three requests, all for the long reply.
    assert [m for m in last_user_messages(doubles) if "okay" in m.lower()] == []
    assert len(doubles.client.llm_requests()) == 3, last_user_messages(doubles)


def _reply_heard_whole(result, turn_index: int) -> float:
    reply = result.bot_utterances[result.turns[turn_index].reply_utterance].start
    end = result.turns[turn_index + 1].start
    return heard_after(result, reply) - heard_after(result, end)


async def test_three_yeahs_and_an_mm_hmm_in_one_reply_do_not_add_up_to_an_interruption(
    doubles, twilio_caller, launcher_factory
):
    voice = VOICES[1]
    yeah, mm_hmm = item("backchannel", "yeah", voice), item("backchannel", "mm-hmm", voice)
    line = open_line(doubles, launcher_factory, [yeah, mm_hmm])
    steps = [
        WaitForBotSilence(timeout=15),
        *_ask_for_the_long_reply(voice),
        BargeIn(yeah.pcm, after_bot_audio_secs=1.0),
    ]
    for said in (yeah, mm_hmm, yeah):  # more acknowledgements while the same reply plays
        steps += [Wait(1.0), Say(said.pcm)]
    result = await twilio_caller(line).run([*steps, WaitForBotSilence(timeout=20), HangUp()])
    assert result.errors == [], result.errors
    assert len(doubles.client.llm_requests()) == 1, last_user_messages(doubles)
    # The reply played on to its last words after the last "yeah".
    last_yeah = result.turns[-1]
    assert heard_after(result, last_yeah.end) > 1.0


@pytest.mark.serial  # a 400 ms bound, asserted on a quiet machine
@pytest.mark.parametrize("word", ["wait", "stop", "no no", "hold on"])
async def test_wait_stops_the_bot_within_400ms(doubles, twilio_caller, launcher_factory, word):
    voice = VOICES[2] if word == "wait" else VOICES[0]
    said = item("interrupt_short", word, voice)
    line = open_line(doubles, launcher_factory, [said])
    result = await twilio_caller(line).run(_interrupt_the_long_reply(voice, said.pcm))
    assert result.errors == [], result.errors
    barge = result.barge_ins[0]
    assert barge.bot_speaking
    assert barge.clear_at is not None, "no clear: the bot kept talking"
    assert barge.audio_stop_secs <= 0.4, f"bot audio stopped {barge.audio_stop_secs:.3f} s in"
    # The rest of the long reply is never heard: the next thing the caller hears is the answer
    # to the interruption (a short reply), asked for with the interruption's words.
    # The LLM is asked once about the whole interruption, knowing what the caller heard of the
    # long reply: that comes first, then the interruption as one message (incident: "No," and
    # "no." were asked apart, each without the bot's cut-off words before them).
    words = said.chunks[0].lower()
    request = next(r for r in doubles.client.llm_requests() if words in _last_user(r).lower())
    heard = request["messages"][-2]
    assert heard["role"] == "assistant" and LONG_REPLY.startswith(heard["content"].rstrip(" ,."))
    after = result.bot_utterances[-1]
    assert after.start > barge.clear_at and after.duration < 3.0


async def test_a_long_interruption_stops_the_bot_and_is_answered(
    doubles, twilio_caller, launcher_factory
):
    voice = VOICES[1]
    said = item("interrupt_long", "Actually, can we do Thursday", voice)
    line = open_line(doubles, launcher_factory, [said])
    result = await twilio_caller(line).run(_interrupt_the_long_reply(voice, said.pcm))
    assert result.errors == [], result.errors
    assert result.barge_ins[0].clear_at is not None
    assert any("thursday" in m.lower() for m in last_user_messages(doubles))
    # The context kept only what the caller heard of the long reply.
    request = next(r for r in doubles.client.llm_requests() if "Thursday" in str(r["messages"]))
    spoken = [m["content"] for m in request["messages"] if m["role"] == "assistant"][-1]
    assert 0 < len(spoken) < len(LONG_REPLY) and LONG_REPLY.startswith(spoken.rstrip(" ,.")), spoken
