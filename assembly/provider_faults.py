"""A provider that fails for good ends the call at once, with the reason on record.

Pipecat marks a service unusable when it cannot do its job any more (a TTS whose utterances
keep coming out silent, a provider that refuses the key), and the call's worker then cancels
the pipeline (``ProcessorUnusablePolicy.CANCEL``). Here that end gets its real reason
(``tts_unavailable``, ``stt_unavailable``, ``llm_unavailable``) instead of ``completed``.

With a backup TTS (``providers.backups``), a greeting the failed TTS swallowed is spoken by the
backup: handed over with the rest of what the failed TTS left unsaid (``providers.tts_failover``),
or said again here when the failed TTS could not say what it left. A greeting that came out with
no audio is spoken once more (the TTS reconnects meanwhile):
a caller must not sit in silence because of one dropped connection, and a TTS that refuses
every connection is found out in seconds rather than after two turns answered inaudibly
(incident: a completely silent call, hung up after 41 s and recorded ``completed``).
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.frames.frames import ErrorFrame, TTSSpeakFrame
from pipecat.pipeline.service_switcher import ServiceSwitcher
from pipecat.pipeline.worker import PipelineWorker

from assembly.call import Call
from calls.end_reason import EndReason
from providers.backups import members


def _stage(call: Call, processor: Any) -> str | None:
    for stage in ("tts", "stt", "llm"):
        held = getattr(call.services, stage, None)
        if processor is not None and (processor is held or processor in members(held)):
            return stage
    return None


_UNAVAILABLE = {
    "tts": EndReason.TTS_UNAVAILABLE,
    "stt": EndReason.STT_UNAVAILABLE,
    "llm": EndReason.LLM_UNAVAILABLE,
}


def wire_provider_faults(call: Call) -> None:
    """Record why a call ends when a provider gives out; greet again after a silent greeting.

    Args:
        call: The built call (its worker exists).
    """
    worker = call.worker
    assert worker is not None
    regreeted = False

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker: PipelineWorker, frame: ErrorFrame) -> None:
        nonlocal regreeted
        stage = _stage(call, frame.processor)
        if stage is None:
            return
        if not getattr(call.services, stage).is_usable:  # with a backup: both are down
            logger.error(f"[{call.ctx.call_id}] the {stage} is down: ending the call")
            call.end_reason = call.end_reason or _UNAVAILABLE[stage]
            return
        silent = stage == "tts" and "no audio" in str(frame.error)
        if silent and call.greeted and not call.turn_latencies and not regreeted:
            regreeted = True  # the greeting was lost: say it once more
            logger.warning(f"[{call.ctx.call_id}] the greeting came out silent: once more")
            await worker.queue_frames([TTSSpeakFrame(call.greeting, append_to_context=True)])

    tts = call.services.tts
    if isinstance(tts, ServiceSwitcher):

        @tts.strategy.event_handler("on_service_switched")
        async def _on_tts_switched(_strategy: Any, service: Any) -> None:
            nonlocal regreeted
            # A TTS that never connected swallowed the greeting: the backup says it (unless it
            # was handed over with the rest of what the failed TTS left unsaid).
            unheard = call.greeted and call.first_speech_secs is None
            if unheard and not regreeted and not getattr(_strategy, "handed_over", ""):
                regreeted = True
                logger.warning(f"[{call.ctx.call_id}] greeting unheard: {service.name} says it")
                await worker.queue_frames([TTSSpeakFrame(call.greeting, append_to_context=True)])
