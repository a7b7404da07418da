"""Turn-taking: a persona's ``TurnSettings`` → VAD and Pipecat user turn strategies."""

from __future__ import annotations

from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.turns.user_start import (
    MinWordsUserTurnStartStrategy,
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from assembly.models import SharedSileroVADAnalyzer, SharedSmartTurnAnalyzer
from assembly.persona import TurnSettings


def turn_strategies(turns: TurnSettings) -> UserTurnStrategies:
    """Start and stop strategies for the persona's turn settings."""
    interrupt = turns.allow_interruptions
    if turns.interrupt_min_words > 0:
        # VAD would fire first and interrupt on any sound, so it is replaced, not extended.
        start = [
            MinWordsUserTurnStartStrategy(
                min_words=turns.interrupt_min_words, enable_interruptions=interrupt
            )
        ]
    else:
        start = [
            VADUserTurnStartStrategy(enable_interruptions=interrupt),
            TranscriptionUserTurnStartStrategy(enable_interruptions=interrupt),
        ]
    if turns.end_of_turn == "smart_turn":
        stop = [TurnAnalyzerUserTurnStopStrategy(turn_analyzer=SharedSmartTurnAnalyzer())]
    else:
        stop = [SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=turns.silence_secs)]
    return UserTurnStrategies(start=start, stop=stop)


def user_aggregator_params(turns: TurnSettings) -> LLMUserAggregatorParams:
    """User aggregator parameters: Silero VAD (where it belongs in 1.14) plus strategies."""
    vad = SharedSileroVADAnalyzer(
        params=VADParams(
            confidence=turns.vad_confidence,
            start_secs=turns.vad_start_secs,
            stop_secs=turns.vad_stop_secs,
        )
    )
    return LLMUserAggregatorParams(
        vad_analyzer=vad,
        user_turn_strategies=turn_strategies(turns),
        user_idle_timeout=turns.user_idle_secs,
    )
