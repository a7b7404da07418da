"""A quiet caller: prompt once in the persona's words, then say goodbye and hang up.

Pipecat's user aggregator reports ``on_user_turn_idle`` when the caller has said nothing for
``TurnSettings.user_idle_secs`` after the bot stopped speaking. The first time, the bot says
``idle_prompt``; if the caller is still quiet after the same time again, the call ends through
the normal goodbye path (``Call.end``: ``idle_goodbye`` spoken in full, then the hang-up). Any
caller turn starts the count again.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.frames.frames import TTSSpeakFrame

from assembly.call import Call
from calls.end_reason import EndReason


def wire_quiet_caller(call: Call) -> None:
    """Register the quiet-caller handlers on the call's user aggregator (if enabled)."""
    turns = call.persona.turns
    if turns.user_idle_secs <= 0:
        return
    prompted = False

    @call.user_aggregator.event_handler("on_user_turn_started")
    async def _caller_spoke(_aggregator: Any, _strategy: Any) -> None:
        nonlocal prompted
        prompted = False

    @call.user_aggregator.event_handler("on_user_turn_idle")
    async def _caller_quiet(_aggregator: Any) -> None:
        nonlocal prompted
        if call.worker is None or call.end_reason is not None:
            return
        if not prompted:
            prompted = True
            logger.info(f"[{call.ctx.call_id}] caller quiet for {turns.user_idle_secs:.0f}s")
            await call.worker.queue_frames(
                [TTSSpeakFrame(turns.idle_prompt, append_to_context=True)]
            )
            return
        logger.info(f"[{call.ctx.call_id}] caller still quiet: saying goodbye")
        await call.end(turns.idle_goodbye, reason=EndReason.USER_IDLE)
