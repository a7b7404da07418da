"""Early replies, through the real user aggregator and the real OpenAI LLM service (the double).

The STT's endpoint final arrives before the VAD's stop: the reply starts then and is held until
the turn ends. What the LLM service lets out (its text, which the TTS would speak) and what it
was asked are what a caller hears and what the call costs.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    FunctionCallResultFrame,
    InterimTranscriptionFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.utils.time import time_now_iso8601

from simulators.doubles.harness import Collector, run_pipeline
from tests.eventually import aeventually
from tests.turntaking.line import user_and_llm

QUESTION = "Do you take new patients?"
MORE = "And my children?"
RULES = [
    {"match": "children", "reply": "Children are welcome too.", "first_token_ms": 100},
    {"match": "patients", "reply": "Yes, we take new patients.", "first_token_ms": 100},
    {
        "match": "cancel",
        "reply": "",
        "tool_calls": [{"name": "cancel_booking", "arguments": {"id": 7}}],
        "first_token_ms": 100,
    },
    {"after_tool": "cancel_booking", "reply": "Your booking is cancelled.", "first_token_ms": 50},
]


def _final(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", time_now_iso8601())


async def _requests(doubles, count: int) -> list[str]:
    """The last user message of each LLM request, once ``count`` have arrived."""

    async def arrived() -> list | None:
        requests = await doubles.client.allm_requests()
        return requests if len(requests) >= count else None

    requests = await aeventually(arrived, 5, f"{count} LLM requests", every=0.02)
    return [
        str([m for m in r["messages"] if m["role"] == "user"][-1]["content"]) for r in requests
    ]


def _said(collector: Collector) -> str:
    return "".join(f.text for f in collector.of(LLMTextFrame))


async def test_reply_started_on_the_stt_endpoint_is_kept_when_the_turn_ends_there(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules(RULES)
    user, llm = user_and_llm(doubles)

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
        await worker.queue_frame(_final(QUESTION))  # the STT endpointed; the VAD still hears
        assert await _requests(doubles, 1) == [QUESTION], "the LLM is asked at the endpoint"
        await asyncio.sleep(0.3)  # the reply is generated meanwhile, and held
        assert _said(collector) == "", "nothing is said before the turn ends"
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=5)
        await asyncio.sleep(0.3)  # no second request follows

    collector = await run_pipeline([user, llm], drive)
    assert _said(collector) == "Yes, we take new patients."
    assert await _requests(doubles, 1) == [QUESTION], "answered once, from the early request"
    assert user.context.messages[-1] == {"role": "user", "content": QUESTION}


async def test_caller_who_says_more_before_the_vad_stop_hears_only_the_reply_to_all_of_it(
    doubles,
):
    doubles.client.reset()
    await doubles.client.allm_rules(RULES)
    user, llm = user_and_llm(doubles)

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
        await worker.queue_frame(_final(QUESTION))
        await _requests(doubles, 1)
        await asyncio.sleep(0.3)  # the early reply to the question alone is ready, and held
        await worker.queue_frame(InterimTranscriptionFrame("and my", "caller", time_now_iso8601()))
        await worker.queue_frame(_final(MORE))
        await asyncio.sleep(0.05)  # VAD frames are system frames: they overtake queued words
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=5)
        await asyncio.sleep(0.3)

    collector = await run_pipeline([user, llm], drive)
    assert _said(collector) == "Children are welcome too.", "the first guess is never heard"
    whole = f"{QUESTION} {MORE}"
    assert await _requests(doubles, 2) == [QUESTION, whole]
    assert user.context.messages[-1] == {"role": "user", "content": whole}


async def test_early_reply_that_wants_a_tool_runs_the_tool_once_after_the_turn(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules(RULES)
    user, llm = user_and_llm(doubles)
    calls: list[dict] = []

    async def cancel_booking(params) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback({"cancelled": True})

    llm.register_function("cancel_booking", cancel_booking)
    said = "Please cancel my booking."

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
        await worker.queue_frame(_final(said))
        await _requests(doubles, 1)
        await asyncio.sleep(0.4)  # the early reply asked for the tool: withdrawn, not run
        assert calls == [], "a tool never runs on a guess"
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(FunctionCallResultFrame), timeout=5)
        await asyncio.sleep(0.3)

    await run_pipeline([user, llm], drive)
    assert calls == [{"id": 7}], "the tool ran once, for the ended turn"
    assert (await _requests(doubles, 2))[:2] == [said, said]


async def test_persona_that_opts_out_asks_the_llm_only_after_the_turn(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules(RULES)
    user, llm = user_and_llm(doubles, early_reply=False)

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
        await worker.queue_frame(_final(QUESTION))
        await asyncio.sleep(0.3)
        assert await doubles.client.allm_requests() == [], "no request before the turn ends"
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=5)

    collector = await run_pipeline([user, llm], drive)
    assert _said(collector) == "Yes, we take new patients."
