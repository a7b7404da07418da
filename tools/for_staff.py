"""Messages, voicemail and callbacks the caller leaves, stored through ``storage``.

``send_to_voicemail``: the bot invites the caller to speak, and the caller's *next complete
turn* (the user transcript once their turn ends) is stored as a ``Message`` of kind
``voicemail``. That turn still reaches the LLM as usual, so the bot can thank the caller.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from loguru import logger
from pipecat.frames.frames import TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams, FunctionCallResultProperties

from storage.base import Callback, Message

VOICEMAIL_PROMPT = "Please leave your message now, I am recording it."
_VOICEMAIL_KEY = "voicemail"


def _resources(params: FunctionCallParams) -> tuple[Any, Any]:
    resources = params.app_resources or {}
    storage = resources.get("storage")
    if storage is None:
        raise RuntimeError("no storage on this call")
    return resources.get("call"), storage


def _owner(call: Any) -> dict[str, Any]:
    if call is None:
        return {}
    return {"tenant": call.ctx.tenant, "call_id": call.ctx.call_id}


async def take_message(
    params: FunctionCallParams, name: str, message: str, callback_number: str | None = None
) -> None:
    """Take a message for the business from the caller.

    Args:
        name: The caller's name.
        message: The message, in the caller's words.
        callback_number: A phone number to call back, if the caller gave one.
    """
    call, storage = _resources(params)
    number = callback_number or (call.ctx.caller_number if call is not None else None)
    record = Message(kind="message", name=name, text=message, caller_number=number, **_owner(call))
    await storage.add_message(record)
    await params.result_callback({"status": "message saved", "message_id": record.id})


async def schedule_callback(
    params: FunctionCallParams, phone: str, preferred_time: str, reason: str
) -> None:
    """Ask a person from the business to call the caller back.

    Args:
        phone: The number to call back.
        preferred_time: When the caller prefers, in their words (for example tomorrow morning).
        reason: What the callback is about.
    """
    call, storage = _resources(params)
    record = Callback(phone=phone, preferred_time=preferred_time, reason=reason, **_owner(call))
    await storage.add_callback(record)
    await params.result_callback({"status": "callback scheduled", "callback_id": record.id})


async def send_to_voicemail(params: FunctionCallParams) -> None:
    """Let the caller leave a voicemail. Use it when nobody can take the call."""
    call, storage = _resources(params)
    resources = params.app_resources
    if call is None or not isinstance(resources, MutableMapping):
        raise RuntimeError("voicemail needs a call")
    state = resources.get(_VOICEMAIL_KEY)
    if state is None:
        state = resources[_VOICEMAIL_KEY] = {"armed": False}

        async def _on_turn(_aggregator: Any, _strategy: Any, message: Any) -> None:
            text = (getattr(message, "content", "") or "").strip()
            if not state["armed"] or not text:
                return
            state["armed"] = False
            record = Message(
                kind="voicemail", text=text, caller_number=call.ctx.caller_number, **_owner(call)
            )
            await storage.add_message(record)
            logger.info(f"[{call.ctx.call_id}] voicemail stored ({len(text)} characters)")

        call.user_aggregator.add_event_handler("on_user_turn_stopped", _on_turn)
    state["armed"] = True
    await params.result_callback(
        {"status": "recording voicemail: the caller's next words are the message"},
        properties=FunctionCallResultProperties(run_llm=False),
    )
    await params.llm.push_frame(TTSSpeakFrame(VOICEMAIL_PROMPT, append_to_context=True))
