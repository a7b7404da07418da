"""A quiet caller: prompted once in the persona's words, then a goodbye heard in full, then the
hang-up (issue 10: ``turns.user_idle_secs`` was set by two personas and nothing acted on it)."""

from bots.receptionist import PERSONA
from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, Wait, WaitForBotSilence
from tests.bots.turn_line import item, open_line

IDLE = PERSONA.turns.user_idle_secs  # 10 s
PROMPT = "are you still there take your time"
GOODBYE = "it seems we got disconnected please call back anytime goodbye"


async def test_quiet_caller_is_prompted_once_then_hung_up_after_a_spoken_goodbye(
    doubles, twilio_caller, launcher_factory
):
    line = open_line(doubles, launcher_factory, [])
    result = await twilio_caller(line).run(
        [WaitForBotSilence(timeout=15), Wait(2 * IDLE + 15)]
    )
    assert result.hung_up_by_bot, "the bot never hung up on a silent caller"
    greeting, prompt, goodbye = result.bot_utterances[:3]
    listener = PhraseListener([PROMPT, GOODBYE])
    assert listener.heard(prompt.pcm, 8000) == PROMPT
    assert listener.heard(goodbye.pcm, 8000) == GOODBYE
    assert len(result.bot_utterances) == 3  # prompted once, not twice
    # Each step came after the persona's idle time of silence (the bot's audio ended).
    assert IDLE - 0.5 <= prompt.start - greeting.end <= IDLE + 2.0
    assert IDLE - 0.5 <= goodbye.start - prompt.end <= IDLE + 2.0
    # The goodbye was heard to its end before the line closed (not cut by the hang-up).
    assert not goodbye.truncated_by_clear
    assert result.duration_secs - goodbye.end < 3.0


async def test_a_caller_who_answers_the_prompt_is_not_hung_up(
    doubles, twilio_caller, launcher_factory
):
    reply = item("statement", "My name is Sarah Johnson.", "festival-kal")
    line = open_line(doubles, launcher_factory, [reply])
    result = await twilio_caller(line).run(
        [
            WaitForBotSilence(timeout=15),
            Wait(IDLE + 3),  # the prompt
            Say(reply.pcm),
            WaitForBotSilence(timeout=15),  # the answer
            Wait(IDLE + 3),  # quiet again: prompted again, not hung up on
        ]
    )
    assert not result.hung_up_by_bot
    listener = PhraseListener([PROMPT, GOODBYE])
    heard = [listener.heard(u.pcm, 8000) for u in result.bot_utterances]
    assert heard.count(PROMPT) == 2, heard
    assert GOODBYE not in heard, heard
