"""The caller's side of the turn-taking tests: the real user aggregator and LLM service."""

from __future__ import annotations

from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.turns.user_start import VADUserTurnStartStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from turntaking.acoustic import TurnModel
from turntaking.decision import EndOfTurnPolicy
from turntaking.end_of_turn import EndOfTurnStopStrategy


def user_and_llm(
    doubles, *, early_reply: bool = True, model: TurnModel | None = None
) -> tuple[LLMUserAggregator, OpenAILLMService]:
    """Our end of turn in Pipecat's user aggregator, and the OpenAI service on the LLM double."""
    env = doubles.env()
    stop = EndOfTurnStopStrategy(policy=EndOfTurnPolicy(), model=model, early_reply=early_reply)
    strategies = UserTurnStrategies(start=[VADUserTurnStartStrategy()], stop=[stop])
    user = LLMUserAggregator(
        LLMContext(), params=LLMUserAggregatorParams(user_turn_strategies=strategies)
    )
    llm = OpenAILLMService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAILLMService.Settings(model="gpt-4.1", system_instruction="Be brief."),
    )
    return user, llm
