"""Turn-taking: a persona's ``TurnSettings`` → VAD and Pipecat user turn strategies.

The defaults (``adaptive`` end of turn and barge-in) come from ``turntaking/``; the Pipecat
strategies they replace stay available per persona (``smart_turn``, ``silence``,
``immediate``, ``off``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import LLMRunFrame, TranscriptionFrame
from pipecat.processors.aggregators.llm_response_universal import (
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.turns.user_start import (
    BaseUserTurnStartStrategy,
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import (
    BaseUserTurnStopStrategy,
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601

from assembly.persona import TurnSettings
from transports.playout import PlayoutGate
from turntaking.acoustic import TurnModel
from turntaking.barge_in import BargeInPolicy, BargeInStartStrategy
from turntaking.decision import EndOfTurnPolicy
from turntaking.end_of_turn import EndOfTurnStopStrategy
from turntaking.ending import CallEnding
from turntaking.models import SharedSileroVADAnalyzer, SharedSmartTurnAnalyzer
from turntaking.reply_watch import ReplyWatchPolicy


@dataclass
class TurnTaking:
    """A call's turn-taking parts.

    Attributes:
        params: The user aggregator's parameters (VAD, strategies, idle timeout).
        barge_in: The adaptive barge-in strategy, when the persona uses it.
        end_of_turn: The adaptive end-of-turn strategy, when the persona uses it.
        ending: Mutes the caller while the call says goodbye.
    """

    params: LLMUserAggregatorParams
    barge_in: BargeInStartStrategy | None = None
    end_of_turn: EndOfTurnStopStrategy | None = None
    ending: CallEnding = field(default_factory=CallEnding)


def barge_in_policy(turns: TurnSettings) -> BargeInPolicy:
    """The barge-in policy of a persona's settings."""
    return BargeInPolicy(
        mode=turns.barge_in,
        interrupt_after_secs=turns.interrupt_after_secs,
        resume_after_secs=turns.resume_after_secs,
        extra_backchannels=frozenset(p.lower() for p in turns.extra_backchannels),
    )


def end_of_turn_policy(turns: TurnSettings) -> EndOfTurnPolicy:
    """The end-of-turn policy of a persona's settings."""
    return EndOfTurnPolicy(
        max_wait_secs=turns.max_wait_secs,
        hold_secs=turns.hold_secs,
        veto_threshold=turns.veto_threshold,
        vad_stop_secs=turns.vad_stop_secs,
    )


def reply_watch_policy(turns: TurnSettings) -> ReplyWatchPolicy:
    """The reply watch's limits and words of a persona's settings."""
    return ReplyWatchPolicy(
        filler_after_secs=turns.filler_after_secs,
        reply_timeout_secs=turns.reply_timeout_secs,
        filler=turns.filler,
        apology=turns.apology,
    )


def _start(turns: TurnSettings, gate: PlayoutGate | None) -> list[BaseUserTurnStartStrategy]:
    if turns.barge_in == "adaptive":
        return [BargeInStartStrategy(policy=barge_in_policy(turns), gate=gate)]
    interrupt = turns.barge_in == "immediate"
    return [
        VADUserTurnStartStrategy(enable_interruptions=interrupt),
        TranscriptionUserTurnStartStrategy(enable_interruptions=interrupt),
    ]


def _stop(turns: TurnSettings) -> list[BaseUserTurnStopStrategy]:
    if turns.end_of_turn == "adaptive":
        return [
            EndOfTurnStopStrategy(
                policy=end_of_turn_policy(turns), model=TurnModel(), early_reply=turns.early_reply
            )
        ]
    if turns.end_of_turn == "smart_turn":
        return [TurnAnalyzerUserTurnStopStrategy(turn_analyzer=SharedSmartTurnAnalyzer())]
    return [SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=turns.silence_secs)]


def turn_taking(turns: TurnSettings, gate: PlayoutGate | None = None) -> TurnTaking:
    """Build a call's turn-taking: Silero VAD (where it belongs in 1.14) plus strategies.

    Args:
        turns: The persona's settings.
        gate: The call's playout gate (pauses the bot's audio during a barge-in).

    Returns:
        The aggregator parameters and the adaptive strategies, if any.
    """
    start, stop = _start(turns, gate), _stop(turns)
    vad = SharedSileroVADAnalyzer(
        params=VADParams(
            confidence=turns.vad_confidence,
            start_secs=turns.vad_start_secs,
            stop_secs=turns.vad_stop_secs,
            min_volume=turns.vad_min_volume,
        )
    )
    ending = CallEnding()
    params = LLMUserAggregatorParams(
        vad_analyzer=vad,
        user_turn_strategies=UserTurnStrategies(start=start, stop=stop),
        user_mute_strategies=[ending],
        user_idle_timeout=turns.user_idle_secs,
    )
    return TurnTaking(
        params=params,
        ending=ending,
        barge_in=next((s for s in start if isinstance(s, BargeInStartStrategy)), None),
        end_of_turn=next((s for s in stop if isinstance(s, EndOfTurnStopStrategy)), None),
    )


def answer_lost_replies(turns: TurnTaking, user_aggregator: LLMUserAggregator) -> None:
    """Never leave a turn unanswered: answer lost replies and turns with no final transcript.

    The LLM runs again when a confirmed early reply is withdrawn, and the interim words of a
    turn whose final transcript never came are handed on as its final.

    Args:
        turns: The call's turn-taking.
        user_aggregator: The call's user aggregator (an ``LLMRunFrame`` there runs the LLM on
            the context, which already holds the caller's turn).
    """
    if turns.end_of_turn is None:
        return

    @turns.end_of_turn.event_handler("on_reply_lost")
    async def _answer_again(_strategy: EndOfTurnStopStrategy) -> None:
        await user_aggregator.queue_frame(LLMRunFrame())

    @turns.end_of_turn.event_handler("on_final_missing")
    async def _words_without_final(_strategy: EndOfTurnStopStrategy, text: str) -> None:
        # As if the STT had sent it: the aggregator adds it to the turn, the strategy answers.
        final = TranscriptionFrame(text=text, user_id="", timestamp=time_now_iso8601())
        final.finalized = True
        await user_aggregator.queue_frame(final)


def user_aggregator_params(
    turns: TurnSettings, gate: PlayoutGate | None = None
) -> LLMUserAggregatorParams:
    """User aggregator parameters for a persona's settings (see ``turn_taking``)."""
    return turn_taking(turns, gate).params
