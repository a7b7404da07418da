"""Call-control tools the LLM can call: ending the call (more arrive with the tools issue)."""

from __future__ import annotations

from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams, FunctionCallResultProperties

from calls.end_reason import EndReason


async def end_call(params: FunctionCallParams, goodbye: str) -> None:
    """End the call after saying goodbye. Use it once the caller is done or says goodbye.

    Args:
        goodbye: The short goodbye sentence to say before hanging up.
    """
    # The goodbye is spoken by this tool, not by a second LLM round, so nothing can race it:
    # the speak frame and then the end frame travel downstream in order, and the transport
    # finishes playing the goodbye before the pipeline ends and the call is hung up.
    call = (params.app_resources or {}).get("call")
    if call is not None:
        call.end_reason = call.end_reason or EndReason.END_CALL
    await params.result_callback(
        {"status": "ending call"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    await params.llm.push_frame(TTSSpeakFrame(goodbye, append_to_context=True))
    await params.llm.push_frame(EndWorkerFrame(reason=EndReason.END_CALL))
