"""Every persona on every transport kind builds the right pipeline at the right rates."""

import asyncio

import pytest
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMUserAggregator,
)
from pipecat.processors.filters.function_filter import FunctionFilter
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.turns.user_start import (
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)

from assembly.persona import TurnSettings
from assembly.turns import turn_taking
from bots import PERSONAS
from tests.assembly.builders import build_every_call
from tools.filler import ToolFiller
from transports.kinds import AUDIO, TransportKind
from turntaking.barge_in import BargeInStartStrategy
from turntaking.context_order import ContextOrder
from turntaking.end_of_turn import EndOfTurnStopStrategy
from turntaking.models import SharedSileroVADAnalyzer
from turntaking.reply_watch import ReplyWatch

ORDER = [
    BaseInputTransport,
    STTService,
    LLMUserAggregator,
    ContextOrder,  # the bot's cut-off words before the interruption, resumed turns joined
    FunctionFilter,  # the caller's audio ends here (no recorder downstream)
    ToolFiller,  # every persona has tools: "one moment please" while a slow one runs
    LLMService,
    ReplyWatch,  # a filler while a reply is slow, an apology when it fails
    TTSService,
    BaseOutputTransport,
    LLMAssistantAggregator,
]
RATES = {
    TransportKind.TWILIO: (8000, 8000),
    TransportKind.WEBRTC: (16000, 24000),
    TransportKind.LIVEKIT: (16000, 24000),
    TransportKind.DAILY: (16000, 24000),
    TransportKind.LOCAL: (16000, 16000),
}


@pytest.fixture(scope="module")
def calls():
    return asyncio.run(build_every_call())


def test_every_persona_builds_on_every_transport_kind(calls):
    built = {(c.persona.name, c.ctx.transport) for c in calls}
    assert built == {(p, k) for p in PERSONAS for k in TransportKind}


def test_processors_in_the_cascade_order(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        inner = call.pipeline.processors[1:-1]  # between the pipeline's source and sink
        assert len(inner) == len(ORDER), (call.persona.name, call.ctx.transport, inner)
        for processor, kind in zip(inner, ORDER, strict=True):
            assert isinstance(processor, kind), (call.persona.name, call.ctx.transport, processor)


def test_sample_rates_fit_the_transport(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        params = call.worker.params
        expected = RATES[call.ctx.transport]
        assert (params.audio_in_sample_rate, params.audio_out_sample_rate) == expected
        assert AUDIO[call.ctx.transport].in_rate in (8000, 16000)  # what Silero accepts


def test_metrics_and_usage_metrics_on(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        assert call.worker.params.enable_metrics
        assert call.worker.params.enable_usage_metrics


def test_rtvi_on_for_browser_transports_and_off_for_the_phone(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        if AUDIO[call.ctx.transport].rtvi:
            assert isinstance(call.worker.rtvi, RTVIProcessor)
        else:
            with pytest.raises(Exception, match="RTVI is not enabled"):
                call.worker.rtvi  # noqa: B018


def test_every_persona_uses_adaptive_turn_taking_by_default(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        params = call.user_aggregator._params
        assert isinstance(params.vad_analyzer, SharedSileroVADAnalyzer)
        strategies = params.user_turn_strategies
        assert [type(s) for s in strategies.start] == [BargeInStartStrategy], call.persona.name
        assert [type(s) for s in strategies.stop] == [EndOfTurnStopStrategy], call.persona.name
        assert call.turn_taking.barge_in is strategies.start[0]


def test_a_persona_can_opt_out_of_adaptive_turn_taking():
    pipecat_way = TurnSettings(end_of_turn="smart_turn", barge_in="immediate")
    strategies = turn_taking(pipecat_way).params.user_turn_strategies
    assert [type(s) for s in strategies.start] == [
        VADUserTurnStartStrategy,
        TranscriptionUserTurnStartStrategy,
    ]
    assert [type(s) for s in strategies.stop] == [TurnAnalyzerUserTurnStopStrategy]
    quiet = turn_taking(TurnSettings(end_of_turn="silence", barge_in="off"))
    assert isinstance(quiet.params.user_turn_strategies.stop[0], SpeechTimeoutUserTurnStopStrategy)
    assert quiet.barge_in is None and quiet.end_of_turn is None


def test_greeting_is_templated_from_the_call_context(calls):
    companion = next(c for c in calls if c.persona.name == "companion")
    assert companion.greeting == "Hey Robin! Good to hear from you. How did today go?"
    assert "Robin" in companion.prompt
    receptionist = next(c for c in calls if c.persona.name == "receptionist")
    assert receptionist.greeting.startswith("Thank you for calling Bright Smile Dental")


def test_end_call_tool_is_offered_to_the_llm(calls):
    assert len(calls) == len(PERSONAS) * len(TransportKind) > 0
    for call in calls:
        names = [t.name for t in call.context.tools.standard_tools]
        assert "end_call" in names
