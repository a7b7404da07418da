"""A phone call to the receptionist, end to end: Twilio caller → launcher → provider doubles."""

import pytest

from simulators.callers.listen import PhraseListener
from simulators.callers.script import (
    BargeIn,
    HangUp,
    Say,
    Wait,
    WaitForBotSilence,
    WaitForBotSpeech,
)
from tests.bots.scenario import (
    BOOKING,
    GOODBYE_HEARD,
    LONG_REPLY,
    SERVICES_Q,
    STOP,
    full_call_rules,
    spoken_before_barge_in,
)
from tests.eventually import aeventually


@pytest.fixture
def receptionist_line(doubles, launcher_factory):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING, "cancel my appointment", "goodbye"])
    return launcher_factory()


async def test_receptionist_answers_the_phone(doubles, twilio_caller, receptionist_line):
    doubles.client.llm_rules(
        [{"match": "book an appointment", "reply": "Sure, what time works for you?"}]
    )
    caller = twilio_caller(receptionist_line)
    result = await caller.run(
        [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
    )
    assert result.connected, result.errors
    assert result.errors == []
    assert result.time_to_first_audio_secs is not None
    # pocketsphinx's dictionary lacks the receptionist's name, so the listener knows the
    # greeting up to it; the greeting must be the first thing the caller hears.
    listener = PhraseListener(
        ["thank you for calling bright smile dental", "sure what time works for you"]
    )
    heard = [listener.heard(u.pcm, result.sample_rate) for u in result.bot_utterances]
    assert heard[0].startswith("thank you for calling"), heard
    requests = doubles.client.llm_requests()
    user_turns = [m["content"] for r in requests for m in r["messages"] if m["role"] == "user"]
    assert any("book an appointment" in str(t).lower() for t in user_turns), user_turns
    assert "sure what time works for you" in heard, heard
    # The LLM's HTTP connection was warmed when the call started (pipecat#2957: slow greeting).
    assert doubles.client.stats()["services"]["openai_llm"]["models_list"] >= 1


def _wall(result, t: float) -> float:
    """A caller timestamp (seconds since its start) as wall-clock time."""
    import time

    return time.time() - (time.monotonic() - result.t0_monotonic) + t


async def test_barge_in_clears_twilio_audio_and_context_keeps_only_spoken_text(
    doubles, twilio_caller, receptionist_line
):
    doubles.client.stt_phrases([SERVICES_Q, STOP])
    doubles.client.llm_rules(full_call_rules())
    caller = twilio_caller(receptionist_line)
    result = await caller.run(
        [
            WaitForBotSilence(timeout=15),
            Say(SERVICES_Q),
            BargeIn(STOP, after_bot_audio_secs=1.5),
            WaitForBotSilence(timeout=15),
        ]
    )
    assert result.errors == []
    barge = result.barge_ins[0]
    assert barge.clear_latency_secs is not None, "no clear after the barge-in"
    assert barge.clear_latency_secs < 1.0
    # The request answering "stop please" shows what the context kept of the long reply.
    spoken = spoken_before_barge_in(doubles.client.llm_requests())
    assert 0 < len(spoken) < len(LONG_REPLY), spoken
    assert LONG_REPLY.startswith(spoken.rstrip(" ,.")), spoken


async def test_goodbye_spoken_before_hangup(doubles, twilio_caller, receptionist_line):
    doubles.client.stt_phrases(["goodbye"])
    doubles.client.llm_rules(full_call_rules())
    caller = twilio_caller(receptionist_line)
    result = await caller.run([WaitForBotSilence(timeout=15), Say("goodbye"), Wait(12)])
    assert result.hung_up_by_bot, "the bot should end the call"
    last = result.bot_utterances[-1]
    listener = PhraseListener([GOODBYE_HEARD, "thank you for calling"])
    heard = listener.heard(last.pcm, result.sample_rate)
    assert heard == GOODBYE_HEARD, heard
    hangups = [
        r
        for r in doubles.client.twilio_requests()
        if r["path"].endswith(f"/Calls/{caller.call_sid}.json")
        and r.get("form", {}).get("Status") == "completed"
    ]
    assert len(hangups) == 1, doubles.client.twilio_requests()
    assert hangups[0]["time"] >= _wall(result, last.end) - 0.05, "hung up before the goodbye played"


async def test_caller_hangup_mid_reply_ends_cleanly(doubles, twilio_caller, receptionist_line):

    doubles.client.stt_phrases([SERVICES_Q])
    doubles.client.llm_rules([{"match": "about your services", "reply": LONG_REPLY}])
    baseline = _tasks(receptionist_line)
    caller = twilio_caller(receptionist_line)
    result = await caller.run(
        [
            WaitForBotSilence(timeout=15),
            Say(SERVICES_Q),
            WaitForBotSpeech(timeout=10),
            Wait(1.0),
            HangUp(),
        ]
    )
    assert result.errors == []

    def ended() -> list[dict] | None:
        calls = receptionist_line.get("/calls").json()
        return calls if calls and not calls[0]["active"] else None

    # The launcher notices the closed socket and tears the call down.
    calls = await aeventually(ended, 5, "the launcher to end the call")
    assert calls[0]["end_reason"] == "caller_hung_up", calls
    stats = doubles.client.stats()
    assert stats["open_sockets_total"] == 0, stats
    await aeventually(  # after-call work (analysis, call.ended) runs on for a moment
        lambda: _tasks(receptionist_line) <= baseline,
        timeout=10,
        what="the call's asyncio tasks to finish (else they leaked)",
    )
    log = receptionist_line.log()
    # The log is there: an empty one would pass the absence checks below.
    assert f"call={calls[0]['call_id']}" in log, log[-3000:]
    assert "Traceback" not in log and "| ERROR" not in log, log[-3000:]


def _tasks(launcher) -> int:
    for line in launcher.get("/metrics").text.splitlines():
        if line.startswith("switchboard_asyncio_tasks "):
            return int(float(line.split()[1]))
    raise AssertionError("no asyncio task gauge")
