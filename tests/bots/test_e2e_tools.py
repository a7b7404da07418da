"""Tools in real phone calls: Twilio caller → launcher → provider doubles (+ a webhook receiver).

- transfer_call updates the live Twilio call with <Say> + <Dial> TwiML, and does not hang up;
- a webhook tool whose receiver is down: the caller hears an apology and the call goes on;
- a slow webhook tool: the caller hears "One moment please." while it runs; a fast one: not.
"""

import socket

import pytest

from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, Wait, WaitForBotSilence
from tests.tools.receiver import Receiver

TRANSFER_Q = "i would like to speak to a person"
NUMBER = "+15550001111"
EMAIL_Q = "please send an email to the team"
HOURS_Q = "what are your opening hours"
NEXT_Q = "tell me about your services"
APOLOGY = "I am sorry, the email could not be sent right now."
HOURS_A = "We open at nine in the morning."
NEXT_A = "It is nine in the morning."
FILLER = "one moment please"
SECRET = "tool-secret-for-tests"
HEARD = PhraseListener([
    "i am sorry the email could not be sent right now", "we open at nine in the morning",
    "it is nine in the morning", FILLER, "hi your assistant what can i do for you",
])  # fmt: skip


def _heard(result) -> list[str]:
    return [HEARD.heard(u.pcm, result.sample_rate) for u in result.bot_utterances]


def _playout(result) -> str:
    """What the caller's playout saw, for failure messages: utterances, clears, gaps."""
    spans = [(u.start, u.end, u.truncated_by_clear, u.gaps) for u in result.bot_utterances]
    return (
        f"utterances (start, end, cut by clear, gaps)={spans} clears={result.clears} "
        f"caller stalls={result.caller_stalls}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def receiver():
    running = await Receiver(SECRET, answer={"answer": "We open at nine."}).start()
    yield running
    await running.stop()


async def _transfer(doubles, twilio_caller, launcher_factory, tool: str):
    """A Twilio call whose caller asks for a person and gets ``tool``: (result, TwiML updates)."""
    doubles.client.reset()
    doubles.client.stt_phrases([TRANSFER_Q])
    call = {"name": tool, "arguments": {"reason": "caller asked for a person"}}
    doubles.client.llm_rules([{"match": "speak to a person", "tool_calls": [call]}])
    launcher = launcher_factory(TRANSFER_NUMBER=NUMBER)
    caller = twilio_caller(launcher, persona="receptionist")
    result = await caller.run([WaitForBotSilence(timeout=15), Say(TRANSFER_Q), Wait(5)])
    assert result.connected, result.errors
    mine = [r for r in doubles.client.twilio_requests()
            if r["path"].endswith(f"/Calls/{caller.call_sid}.json")]  # fmt: skip
    updates = [r for r in mine if "Twiml" in r["form"]]
    assert len(updates) == 1, mine  # exactly one REST update of the live call
    assert updates[0]["status"] == 200
    # The transferred call must not be hung up when our side of it ends.
    assert not [r for r in mine if r["form"].get("Status") == "completed"], mine
    assert (await launcher.last_call_over())["end_reason"] == "transferred"
    return result, updates


async def test_twilio_transfer_makes_the_rest_call_with_the_right_twiml(
    doubles, twilio_caller, launcher_factory
):
    _, updates = await _transfer(doubles, twilio_caller, launcher_factory, "transfer_call")
    assert updates[0]["form"]["Twiml"] == (
        "<Response><Say>Please hold while I transfer your call.</Say>"
        f"<Dial>{NUMBER}</Dial></Response>"
    )


async def test_cold_transfer_one_rest_update_dials_without_any_announcement(
    doubles, twilio_caller, launcher_factory
):
    result, updates = await _transfer(
        doubles, twilio_caller, launcher_factory, "transfer_immediate"
    )
    assert updates[0]["form"]["Twiml"] == f"<Response><Dial>{NUMBER}</Dial></Response>"
    # Nothing spoken after the request: the greeting is the only thing the caller heard, and
    # the LLM was not asked again after the tool (no "transferring you now").
    assert len(result.bot_utterances) == 1, [(u.start, u.end) for u in result.bot_utterances]
    requests = doubles.client.llm_requests()
    assert not [r for r in requests if any(m["role"] == "tool" for m in r["messages"])]


async def test_webhook_receiver_down_caller_hears_an_apology_and_the_call_goes_on(
    doubles, twilio_caller, launcher_factory
):
    doubles.client.reset()
    doubles.client.stt_phrases([EMAIL_Q, NEXT_Q])
    doubles.client.llm_rules([
        {"match": "send an email", "tool_calls": [{"name": "send_email", "arguments": {
            "to": "team@example.com", "subject": "Hello", "body": "Hi team"}}]},
        {"after_tool": "send_email", "reply": APOLOGY},
        {"match": "about your services", "reply": NEXT_A},
    ])  # fmt: skip
    launcher = launcher_factory(
        ASSISTANT_EMAIL_WEBHOOK_URL=f"http://127.0.0.1:{_free_port()}/email",
        TOOL_WEBHOOK_SECRET=SECRET,
    )
    result = await twilio_caller(launcher, persona="assistant").run([
        WaitForBotSilence(timeout=15), Say(EMAIL_Q), WaitForBotSilence(timeout=15),
        Say(NEXT_Q), WaitForBotSilence(timeout=15),
    ])  # fmt: skip
    assert result.errors == []
    heard = _heard(result)
    print(_playout(result))
    assert "i am sorry the email could not be sent right now" in heard, (heard, _playout(result))
    assert heard[-1] == "it is nine in the morning", heard  # the next turn is still answered
    requests = doubles.client.llm_requests()
    tool_results = [m["content"] for r in requests for m in r["messages"] if m["role"] == "tool"]
    assert any("send_email could not be reached" in c for c in tool_results), tool_results
    assert not result.hung_up_by_bot


@pytest.mark.parametrize(("delay", "filler_expected"), [(3.5, True), (0.0, False)])
async def test_filler_is_heard_when_a_tool_is_slow(
    doubles, twilio_caller, launcher_factory, receiver, delay, filler_expected
):
    receiver.delay_secs = delay
    doubles.client.reset()
    doubles.client.stt_phrases([HOURS_Q])
    doubles.client.llm_rules([
        {"match": "opening hours", "tool_calls": [
            {"name": "query_knowledge_base", "arguments": {"query": "opening hours"}}]},
        {"after_tool": "query_knowledge_base", "reply": HOURS_A},
    ])  # fmt: skip
    launcher = launcher_factory(
        ASSISTANT_KB_WEBHOOK_URL=f"{receiver.url}/kb", TOOL_WEBHOOK_SECRET=SECRET
    )
    result = await twilio_caller(launcher, persona="assistant").run([
        WaitForBotSilence(timeout=15), Say(HOURS_Q), Wait(delay + 2.5),
        WaitForBotSilence(timeout=15),
    ])  # fmt: skip
    assert result.errors == []
    (request,) = receiver.requests
    assert request["signature_ok"], "the tool call reached the receiver signed"
    heard = _heard(result)
    assert heard[-1] == "we open at nine in the morning", heard
    assert (FILLER in heard) is filler_expected, heard
    if filler_expected:  # the filler came while the tool ran, before the answer
        assert heard.index(FILLER) < len(heard) - 1
