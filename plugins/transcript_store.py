"""Transcript turns written as they happen, from the context aggregators' turn events.

Each finished user turn and each spoken assistant turn (truncated and flagged when the caller
interrupted it) becomes a ``TranscriptTurn`` the moment it ends, so a process killed mid-call
keeps every completed turn. Writes go through the call's :class:`CallWriter`.

A call moved here from a host that died (``resumed_from``, ``launcher.call_rescue``) starts from
those stored turns: they become the LLM context, numbering carries on after them, and the caller
hears a short apology instead of the greeting (then the answer, if their last turn had none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loguru import logger

from assembly.call import Call, CallPlugin
from plugins.call_writer import writer_for
from storage.base import Storage, TranscriptTurn, now


def _parse_time(value: Any) -> datetime:
    """An aggregator's ISO timestamp (UTC), or now when missing or unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return now()
    return parsed if parsed.tzinfo else parsed.astimezone()


RESUME_LINE = "Sorry about that, we were cut off for a moment. I'm back now."


def restore_conversation(call: Call, turns: list[TranscriptTurn]) -> None:
    """Give a moved call its conversation so far, and an apology in place of the greeting."""
    messages = [
        {"role": t.role, "content": t.text} for t in turns if t.role in ("user", "assistant")
    ]
    call.context.set_messages([*call.context.get_messages(), *messages])
    call.greeting = RESUME_LINE
    call.answer_after_greeting = bool(messages) and messages[-1]["role"] == "user"
    logger.info(
        f"[{call.ctx.call_id}] moved here from {call.ctx.metadata.get('resumed_from')}: "
        f"{len(messages)} turns restored"
    )


class TranscriptStore(CallPlugin):
    """Stores every completed turn through the storage backend."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def attach(self, call: Call) -> None:
        """Subscribe to the aggregators' turn-stopped events (restore a moved call first)."""
        writer = writer_for(call)
        call_id = call.ctx.call_id
        storage = self._storage
        earlier = await storage.list_turns(call_id) if call.ctx.metadata.get("resumed_from") else []
        if earlier:
            restore_conversation(call, earlier)
        seq = iter(range(max((t.seq for t in earlier), default=0) + 1, 1_000_000))

        def store(role: str, text: str, started: datetime, interrupted: bool = False) -> None:
            turn = TranscriptTurn(
                call_id=call_id,
                seq=next(seq),  # taken now, in event order, before any await
                role=role,  # type: ignore[arg-type]
                text=text,
                started_at=started,
                ended_at=now(),
                interrupted=interrupted,
            )
            writer.submit(f"turn {turn.seq}", lambda: storage.add_turn(turn))

        @call.user_aggregator.event_handler("on_user_turn_stopped")
        async def _user_turn(_agg: Any, _strategy: Any, message: Any) -> None:
            text = (message.content or "").strip()
            if text:
                store("user", text, _parse_time(message.timestamp))

        @call.assistant_aggregator.event_handler("on_assistant_turn_stopped")
        async def _assistant_turn(_agg: Any, message: Any) -> None:
            text = (message.content or "").strip()
            if text:  # a tool-call-only turn has no spoken text
                store("assistant", text, _parse_time(message.timestamp), message.interrupted)

    async def detach(self, call: Call) -> None:
        """Nothing to release: the handlers go with the call's aggregators."""
