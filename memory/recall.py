"""The memory-recall frame processor, before each LLM turn (wired by ``plugins.memory_recall``).

The user aggregator pushes its context (``LLMContextFrame``) for every turn. This processor,
in ``Slot.BEFORE_LLM``, recalls the caller's memories relevant to what they just said and
hands the LLM a *per-turn copy* of the context with one extra system message. The
aggregators' context is never touched, so memories never pile up in the conversation.

Recall has a budget (``MEMORY_RECALL_BUDGET_MS``, 150 ms): a slower (or failing) backend
lets the turn go ahead without memories and counts a miss. After the call, the plugin starts
the extraction pass (``memory.extract``) in the background.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from loguru import logger
from pipecat.frames.frames import Frame, LLMContextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from memory.base import MemoryBackend

MEMORY_HEADER = (
    "What you remember about this caller from earlier calls (use it when it helps, "
    "do not recite it):"
)


def message_text(message: Any) -> str:
    """The text of a standard message's content (string or list of text parts)."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _last_user_index(messages: list[Any]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], dict) and messages[i].get("role") == "user":
            return i
    return None


def with_memories(context: LLMContext, memories: list[str]) -> LLMContext:
    """A copy of ``context`` with one system message of memories before the last user message."""
    messages = list(context.get_messages())
    at = _last_user_index(messages)
    note = {"role": "system", "content": "\n".join([MEMORY_HEADER, *(f"- {m}" for m in memories)])}
    messages.insert(len(messages) if at is None else at, note)
    return LLMContext(messages=messages, tools=context.tools, tool_choice=context.tool_choice)


class MemoryRecall(FrameProcessor):
    """Gives the LLM the caller's relevant memories for this turn only.

    Args:
        backend: Where memories live.
        tenant: The call's tenant.
        caller_key: Who the caller is (user id, else phone number).
        budget_secs: Longest recall the turn waits for.
        limit: At most this many memories per turn.
        on_recall: Called with the recall's seconds when it made the budget.
        on_miss: Called with ``"timeout"`` or ``"error"`` when the turn went without memories.
    """

    def __init__(
        self,
        backend: MemoryBackend,
        tenant: str,
        caller_key: str,
        budget_secs: float,
        limit: int = 5,
        on_recall: Callable[[float], None] | None = None,
        on_miss: Callable[[str], None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self._backend = backend
        self._tenant = tenant
        self._caller_key = caller_key
        self._budget = budget_secs
        self._limit = limit
        self._on_recall = on_recall
        self._on_miss = on_miss
        self.recalled: list[list[str]] = []  # what each turn got (for the calls API and tests)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Swap a downstream context frame for a per-turn copy with memories.

        Early replies (``frame.speculation``) get memories too: a confirmed one is the turn's
        only request.
        """
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            frame = await self._turn_frame(frame)
        await self.push_frame(frame, direction)

    async def _turn_frame(self, frame: LLMContextFrame) -> LLMContextFrame:
        messages = frame.context.get_messages()
        at = _last_user_index(messages)
        if at is None:  # greeting, idle prompt: nothing the caller said to recall against
            return frame
        query = message_text(messages[at])
        started = time.perf_counter()
        try:
            memories = await asyncio.wait_for(
                self._backend.recall(self._tenant, self._caller_key, query, self._limit),
                timeout=self._budget,
            )
        except TimeoutError:
            self._miss("timeout", started)
            return frame
        except Exception as exc:  # a broken backend never breaks the turn
            logger.warning(f"memory recall failed ({self._backend.name}): {exc!r}")
            self._miss("error", started)
            return frame
        elapsed = time.perf_counter() - started
        if self._on_recall is not None:
            self._on_recall(elapsed)
        self.recalled.append(list(memories))
        logger.debug(f"recalled {len(memories)} memories in {elapsed * 1000:.1f} ms")
        if not memories:
            return frame
        return LLMContextFrame(
            context=with_memories(frame.context, list(memories)), speculation=frame.speculation
        )

    def _miss(self, reason: str, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.warning(
            f"memory recall {reason} after {elapsed_ms:.0f} ms ({self._backend.name}); "
            "the turn goes ahead without memories"
        )
        self.recalled.append([])
        if self._on_miss is not None:
            self._on_miss(reason)
