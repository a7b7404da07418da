"""Messages in real phone calls: Twilio caller → launcher (receptionist) → provider doubles.

- send_to_voicemail: the caller hears the "leave your message" prompt, their next turn is stored
  as a voicemail (with the call id and their number) in the launcher's SQLite file, and the
  call goes on (the LLM answers that turn);
- take_message: the message the LLM took (name, text, callback number) is stored.
"""

from pathlib import Path

from simulators.callers.listen import PhraseListener, normalize
from simulators.callers.script import Say, WaitForBotSilence
from storage.base import Message
from storage.sqlite import SQLiteStorage
from tools.for_staff import VOICEMAIL_PROMPT

CALLER_NUMBER = "+15005550006"
VOICEMAIL_Q = "nobody can answer so i will leave a voicemail"
VOICEMAIL_TEXT = "please ask the doctor to call me back tomorrow morning"
THANKS = "Thank you, your message is saved."
TAKE_Q = "please take a message for the doctor"
TAKEN = "I will pass it on."
TAKE_ARGS = {
    "name": "John Smith",
    "message": "The order is ready for pick up.",
    "callback_number": "+15550002222",
}
HEARD = PhraseListener([
    normalize(VOICEMAIL_PROMPT), normalize(THANKS), normalize(TAKEN),
])  # fmt: skip


def _heard(result) -> list[str]:
    return [HEARD.heard(u.pcm, result.sample_rate) for u in result.bot_utterances]


async def _messages(launcher) -> list[Message]:
    storage = SQLiteStorage(Path(launcher.env["DATA_DIR"]) / "switchboard.db")
    await storage.open()
    try:
        return await storage.list_messages("default")
    finally:
        await storage.close()


async def test_voicemail_is_recorded_and_stored(doubles, twilio_caller, launcher_factory):
    doubles.client.reset()
    doubles.client.stt_phrases([VOICEMAIL_Q, VOICEMAIL_TEXT])
    doubles.client.llm_rules([
        {"match": "leave a voicemail", "tool_calls": [
            {"name": "send_to_voicemail", "arguments": {}}]},
        {"match": "call me back", "reply": THANKS},
    ])  # fmt: skip
    launcher = launcher_factory()
    result = await twilio_caller(launcher, persona="receptionist", from_number=CALLER_NUMBER).run([
        WaitForBotSilence(timeout=15), Say(VOICEMAIL_Q), WaitForBotSilence(timeout=15),
        Say(VOICEMAIL_TEXT), WaitForBotSilence(timeout=15),
    ])  # fmt: skip
    assert result.errors == [], result.errors
    heard = _heard(result)
    print("the caller heard:", heard)
    prompt, thanks = normalize(VOICEMAIL_PROMPT), normalize(THANKS)
    assert prompt in heard, heard
    assert heard[-1] == thanks, heard  # the call went on: the message turn was answered
    assert heard.index(prompt) < len(heard) - 1
    assert not result.hung_up_by_bot

    call = await launcher.last_call_over()
    [voicemail] = await _messages(launcher)  # the request itself is not a voicemail
    print("stored:", voicemail)
    assert voicemail.kind == "voicemail"
    assert normalize(voicemail.text) == VOICEMAIL_TEXT
    assert voicemail.call_id == call["call_id"]
    assert voicemail.caller_number == CALLER_NUMBER

    # The LLM got the message as a user turn after the tool, and answered it.
    requests = doubles.client.llm_requests()
    tool_at = next(i for i, r in enumerate(requests)
                   if "leave a voicemail" in str(r["messages"][-1]["content"]))  # fmt: skip
    later = [str(r["messages"][-1]["content"]).lower() for r in requests[tool_at + 1 :]]
    assert any("call me back" in text for text in later), later


async def test_take_message_is_stored(doubles, twilio_caller, launcher_factory):
    doubles.client.reset()
    doubles.client.stt_phrases([TAKE_Q])
    doubles.client.llm_rules([
        {"match": "take a message", "tool_calls": [
            {"name": "take_message", "arguments": TAKE_ARGS}]},
        {"after_tool": "take_message", "reply": TAKEN},
    ])  # fmt: skip
    launcher = launcher_factory()
    result = await twilio_caller(launcher, persona="receptionist", from_number=CALLER_NUMBER).run(
        [WaitForBotSilence(timeout=15), Say(TAKE_Q), WaitForBotSilence(timeout=15)]
    )
    assert result.errors == [], result.errors
    assert _heard(result)[-1] == normalize(TAKEN), _heard(result)

    call = await launcher.last_call_over()
    [message] = await _messages(launcher)
    assert message.kind == "message"
    assert message.name == TAKE_ARGS["name"]
    assert message.text == TAKE_ARGS["message"]
    assert message.caller_number == TAKE_ARGS["callback_number"]
    assert message.call_id == call["call_id"]
    tool_results = [m["content"] for r in doubles.client.llm_requests()
                    for m in r["messages"] if m["role"] == "tool"]  # fmt: skip
    assert any(message.id in str(c) for c in tool_results), tool_results
