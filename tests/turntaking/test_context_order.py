"""The context in the order the caller lived it: one message per utterance, the bot's words first.

Incident (issue 10, the "no no" barge-in): the STT double gave "No," and "no." as two finals.
"No," read as a complete short answer, the turn ended, and the caller's "no." came before any
of the reply was heard. The LLM was then asked about "no." alone, a second user message that
read as a new utterance. Here the real aggregators, ``ContextOrder`` and the real OpenAI
service (against the LLM double) replay that: the second request must carry one user message,
"No, no.". (The other half, the bot's cut-off words written before the interruption, is
checked at the caller in ``tests/bots/test_e2e_barge_in.py``.)
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.turns.user_start import VADUserTurnStartStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601

from simulators.doubles.harness import run_pipeline
from tests.eventually import aeventually
from turntaking.context_order import ContextOrder, join_user_runs, put_bot_words_first
from turntaking.decision import EndOfTurnPolicy
from turntaking.end_of_turn import EndOfTurnStopStrategy

RULES = [{"match": None, "reply": "Alright, I'll stop there.", "first_token_ms": 300}]


def _line(doubles) -> list:
    env = doubles.env()
    stop = EndOfTurnStopStrategy(policy=EndOfTurnPolicy(), early_reply=True)
    strategies = UserTurnStrategies(start=[VADUserTurnStartStrategy()], stop=[stop])
    context = LLMContext()
    user, assistant = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    llm = OpenAILLMService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAILLMService.Settings(model="gpt-4.1", system_instruction="Be brief."),
    )
    order = ContextOrder(context)
    order.follow(assistant)
    return [user, order, llm, assistant]


async def _say(worker, text: str) -> None:
    await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
    await worker.queue_frame(TranscriptionFrame(text, "caller", time_now_iso8601()))
    await asyncio.sleep(0.05)
    await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))


async def _requests(doubles, count: int) -> None:
    async def arrived() -> bool:
        return len(await doubles.client.allm_requests()) >= count

    await aeventually(arrived, 5, f"{count} LLM requests", every=0.02)


def _user_messages(request: dict) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m["role"] == "user"]


async def test_no_no_said_as_two_finals_is_asked_as_one_message(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules(RULES)
    line = _line(doubles)

    async def drive(worker, collector) -> None:
        await _say(worker, "No,")
        await _requests(doubles, 1)  # the turn ended on "No,": the LLM was asked
        await _say(worker, "no.")  # the caller carries on before any reply is heard
        await _requests(doubles, 2)
        await asyncio.sleep(0.5)

    await run_pipeline(line, drive)
    requests = await doubles.client.allm_requests()
    assert _user_messages(requests[0]) == ["No,"]
    assert _user_messages(requests[-1]) == ["No, no."], [_user_messages(r) for r in requests]


def test_words_the_bot_spoke_in_between_keep_two_turns_apart():
    said = [
        {"role": "user", "content": "No,"},
        {"role": "assistant", "content": "Alright,"},
        {"role": "user", "content": "no."},
    ]
    assert join_user_runs(said) is said
    tool = [
        {"role": "user", "content": "Book it."},
        {"role": "tool", "tool_call_id": "1", "content": "{}"},
        {"role": "user", "content": "Thanks."},
    ]
    assert join_user_runs(tool) is tool


def test_the_bots_cut_off_words_go_before_the_interruption_that_overtook_them():
    asked = [
        {"role": "user", "content": "Tell me about your services."},  # the reply was cut
        {"role": "user", "content": "No,"},
    ]
    heard = [{"role": "assistant", "content": "We offer cleanings, fillings,"}]
    # The caller's "No," was written first, the bot's cut-off words after it.
    assert put_bot_words_first([*asked, *heard], "No,", heard) == [asked[0], heard[0], asked[1]]
    in_order = [asked[0], *heard, asked[1]]
    assert put_bot_words_first(in_order, "No,", heard) is in_order
    # The bot's answer to the interruption, written after it, stays where it is.
    answer = [{"role": "assistant", "content": "Alright."}]
    assert put_bot_words_first([*in_order, *answer], "No,", heard) == [*in_order, *answer]


def test_a_run_released_without_a_new_request_is_joined_on_the_next():
    # A held early reply answered "no." without a new request, so the run is still split.
    said = [
        {"role": "user", "content": "No,"},
        {"role": "user", "content": "no."},
        {"role": "assistant", "content": "Alright."},
        {"role": "user", "content": "Thanks."},
    ]
    assert join_user_runs(said) == [
        {"role": "user", "content": "No, no."},
        {"role": "assistant", "content": "Alright."},
        {"role": "user", "content": "Thanks."},
    ]
