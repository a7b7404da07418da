"""A turn is never left unanswered by turn-taking: through the real user aggregator and LLM.

Incident (soak, 20 calls, faults injected): 8 of 1,698 caller turns got interim transcripts
but never a final one; the turn ended with "no words" and the caller heard nothing until the
idle prompt 10 s later.
"""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.turns.user_start import VADUserTurnStartStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601

from assembly.turns import TurnTaking, answer_lost_replies
from simulators.doubles.harness import Collector, run_pipeline
from turntaking.decision import EndOfTurnPolicy
from turntaking.end_of_turn import EndOfTurnStopStrategy

WORDS = "I would like to book a cleaning next"
POLICY = EndOfTurnPolicy(max_wait_secs=1.0)


async def test_words_without_a_final_transcript_are_still_answered(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules([{"match": "cleaning", "reply": "Sure, which day?"}])
    env = doubles.env()
    stop = EndOfTurnStopStrategy(policy=POLICY, early_reply=True)
    params = LLMUserAggregatorParams(
        user_turn_strategies=UserTurnStrategies(start=[VADUserTurnStartStrategy()], stop=[stop])
    )
    user = LLMUserAggregator(LLMContext(), params=params)
    answer_lost_replies(TurnTaking(params=params, end_of_turn=stop), user)
    llm = OpenAILLMService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAILLMService.Settings(model="gpt-4.1", system_instruction="Be brief."),
    )
    stopped = 0.0

    async def drive(worker, collector: Collector) -> None:
        nonlocal stopped
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.15))
        await worker.queue_frame(InterimTranscriptionFrame(WORDS, "caller", time_now_iso8601()))
        await asyncio.sleep(0.05)
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        stopped = time.monotonic()
        # No final ever comes: the turn is answered from the interim words all the same.
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=6)

    collector = await run_pipeline([user, llm], drive)
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == "Sure, which day?"
    [request] = await doubles.client.allm_requests()
    assert request["messages"][-1] == {"role": "user", "content": WORDS}
    # Silence is counted on the wall clock here (no audio flows): the 1 s stall fallback plus
    # the wait for words, then the answer.
    answered = collector.first_time(LLMTextFrame)
    assert answered is not None and answered - stopped < 4.0
