"""The one shared assembly: persona + transport + call context → a running ``PipelineWorker``.

transport in → STT → user aggregator (Silero VAD, turn strategies) → context order →
(caller audio ends) → [before_llm] → LLM → reply watch → TTS → [after_tts] → transport out →
[after_output] → assistant aggregator (records what was spoken).
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameProcessor

from assembly.call import Call, CallContext, CallPlugin, Slot
from assembly.call_tools import call_tools
from assembly.caller_audio import caller_audio_end
from assembly.idle import wire_quiet_caller
from assembly.observers import ObserverGroup
from assembly.persona import Persona
from assembly.provider_faults import wire_provider_faults
from assembly.tracing import worker_tracing
from assembly.turns import answer_lost_replies, reply_watch_policy, turn_taking
from calls.end_reason import EndReason
from calls.templates import render
from config import Settings
from providers import build_services
from providers.warmup import prewarm
from transports.kinds import AUDIO, TransportKind
from transports.playout import playout_gate
from transports.twilio_playout import TwilioPlayoutTransport
from turntaking.context_order import ContextOrder
from turntaking.reply_watch import ReplyWatch

MALFORMED_GOODBYE = "Sorry, this line is not working properly, so I have to hang up. Goodbye!"


def _slots(plugins: list[CallPlugin], call: Call) -> dict[Slot, list[FrameProcessor]]:
    slots: dict[Slot, list[FrameProcessor]] = {slot: [] for slot in Slot}
    for plugin in plugins:
        for slot, processors in plugin.processors(call).items():
            slots[slot].extend(processors)
    return slots


def build_call(
    persona: Persona,
    transport: Any,
    ctx: CallContext,
    settings: Settings,
    plugins: list[CallPlugin] | None = None,
    resources: dict[str, Any] | None = None,
) -> Call:
    """Build a call's pipeline and worker (not started).

    Args:
        persona: What the agent is.
        transport: A transport built by ``transports`` for ``ctx.transport``.
        ctx: What the call knows (numbers, user, metadata).
        settings: Process settings (providers, keys, endpoints).
        plugins: Cross-cutting processors and observers for this call.
        resources: Shared services tools and plugins reach through ``call.resources`` and
            ``FunctionCallParams.app_resources`` (``storage``, ``settings``, ...).

    Returns:
        The built call; run it with ``assembly.run.run_call``.

    Raises:
        ProviderError: A provider cannot be built (unknown, missing key, bad option).
        UnknownToolError: The persona lists a tool the catalogue lacks.
    """
    values = ctx.template_values()
    prompt = render(persona.prompt, values, persona.greeting_defaults)
    greeting = render(persona.greeting, values, persona.greeting_defaults)
    services = build_services(
        {"stt": persona.stt, "llm": persona.llm, "tts": persona.tts},
        settings,
        language=persona.language,
        prompt=prompt,
        backups={"stt": persona.stt_backup, "llm": persona.llm_backup, "tts": persona.tts_backup},
    )
    tools = call_tools(persona, settings)  # schemas with guarded handlers, and the filler
    context = LLMContext(tools=tools.schemas) if tools.schemas else LLMContext()
    turns = turn_taking(persona.turns, playout_gate(transport))
    user_agg, assistant_agg = LLMContextAggregatorPair(context, user_params=turns.params)
    answer_lost_replies(turns, user_agg)
    call = Call(
        ctx=ctx,
        persona=persona,
        transport=transport,
        services=services,
        context=context,
        user_aggregator=user_agg,
        assistant_aggregator=assistant_agg,
        greeting=greeting,
        prompt=prompt,
        plugins=list(plugins or []),
        resources={"settings": settings, **(resources or {})},
        turn_taking=turns,
    )
    order = ContextOrder(context)  # the bot's cut-off words before the caller's interruption
    order.follow(assistant_agg)
    slots = _slots(call.plugins, call)
    hears_caller = any(plugin.hears_caller(call) for plugin in call.plugins)
    call.pipeline = Pipeline(
        [
            transport.input(),
            services.stt,
            user_agg,
            order,
            *([] if hears_caller else [caller_audio_end()]),
            *slots[Slot.BEFORE_LLM],
            *tools.processors,
            services.llm,
            ReplyWatch(reply_watch_policy(persona.turns)),  # no turn is met with silence
            services.tts,
            *slots[Slot.AFTER_TTS],
            transport.output(),
            *slots[Slot.AFTER_OUTPUT],
            assistant_agg,
        ]
    )
    audio = AUDIO[ctx.transport]
    call.worker = PipelineWorker(
        call.pipeline,
        params=PipelineParams(
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            enable_metrics=True,
            enable_usage_metrics=True,
            send_initial_empty_metrics=False,
        ),
        observers=[ObserverGroup([o for plugin in call.plugins for o in plugin.observers(call)])],
        enable_rtvi=audio.rtvi,
        conversation_id=ctx.call_id,
        app_resources={**call.resources, "call": call},
        cancel_runner_on_idle_timeout=False,
        # Pipecat's tracing and the turn tracking it needs, only with OTEL_EXPORTER_OTLP_ENDPOINT:
        # nothing else reads turn tracking, and each observer sees every frame of the call.
        **worker_tracing(ctx, settings),
        # A transport or service that can no longer work (a room it cannot join, a provider
        # that refuses the key) ends the call instead of leaving a dead call "active".
        processor_unusable_policy=ProcessorUnusablePolicy.CANCEL,
    )
    _wire_events(call)
    wire_quiet_caller(call)
    wire_provider_faults(call)
    return call


def _wire_events(call: Call) -> None:
    """Greet the moment the caller is connected; stop when the caller leaves."""
    worker = call.worker
    assert worker is not None

    @worker.event_handler("on_pipeline_started")
    async def _on_started(_worker: PipelineWorker, _frame: Any) -> None:
        prewarm(call.services)
        if call.ctx.transport == TransportKind.LOCAL:  # no connect event: the mic is there
            call.connected.set()
            await call.greet()

    if call.ctx.transport == TransportKind.LOCAL:
        return

    @call.transport.event_handler("on_client_connected")
    async def _on_connected(_transport: Any, _client: Any) -> None:
        logger.info(f"[{call.ctx.call_id}] caller connected on {call.ctx.transport}")
        call.connected.set()
        await call.greet()

    @call.transport.event_handler("on_client_disconnected")
    async def _on_disconnected(_transport: Any, _client: Any) -> None:
        logger.info(f"[{call.ctx.call_id}] caller disconnected")
        await call.cancel(reason=EndReason.CALLER_HUNG_UP)

    if isinstance(call.transport, TwilioPlayoutTransport):

        @call.transport.event_handler("on_stream_stopped")
        async def _on_stopped(_transport: Any) -> None:
            logger.info(f"[{call.ctx.call_id}] the stream stopped: the caller hung up")
            await call.cancel(reason=EndReason.CALLER_HUNG_UP)

        @call.transport.event_handler("on_malformed_messages")
        async def _on_malformed(_transport: Any, count: int) -> None:
            await call.end(MALFORMED_GOODBYE, reason=EndReason.MALFORMED_MEDIA)
