"""The conversation in the order the caller lived it, before every LLM request.

Two things can leave the context out of order when the caller talks over the bot:

* **The bot's cut-off words land after the interruption.** Barge-in here starts the caller's
  turn once their words are known ("No,"), which can be the same instant the turn ends. The
  user aggregator then writes "No," at once, while the interruption is still on its way to the
  assistant aggregator at the end of the pipeline, which writes what the caller heard of the
  reply ("We offer cleanings, fillings,") only when it gets there. The LLM would be asked about
  "No," without knowing what it was saying, and the context would keep the two the wrong way
  round.
* **A turn resumed before any reply was heard is split in two.** When the caller carries on
  after the turn ended ("No," ... "no.", or "... an appointment for" ... "next Tuesday"),
  nothing of the interrupted reply reaches the context, so two user messages follow each other.
  Left apart, the LLM reads the second half as an utterance of its own and answers it out of
  context.

``ContextOrder`` sits right after the user aggregator. It sees each interruption go down, and
the caller's turn the user aggregator writes after it (``LLMContextUserTurnFrame``). A context
that follows waits (at most ``SETTLE_SECS``) until the assistant aggregator has handled the
interruption; then the bot's words are put before the caller's turn, and each run of user
messages with nothing between them is joined into one. Then the LLM is asked, once, about the
whole utterance.
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    LLMContextFrame,
    LLMContextUserTurnFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext, LLMContextMessage
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

# The longest a context waits for the assistant aggregator to write the bot's cut-off words.
SETTLE_SECS = 0.5


def _is_user_text(message: LLMContextMessage) -> bool:
    return (
        isinstance(message, dict)
        and message.get("role") == "user"
        and isinstance(message.get("content"), str)
    )


def _content(message: LLMContextMessage) -> str:
    return str(message["content"]).strip()  # type: ignore[index]


def join_user_runs(messages: list[LLMContextMessage]) -> list[LLMContextMessage]:
    """Join each run of consecutive plain-text user messages into one.

    Args:
        messages: A conversation, oldest first.

    Returns:
        The conversation with each run joined with a space: a new list when something was
        joined, else ``messages`` itself.
    """
    out: list[LLMContextMessage] = []
    for message in messages:
        if out and _is_user_text(message) and _is_user_text(out[-1]):
            joined = f"{_content(out[-1])} {_content(message)}".strip()
            out[-1] = {"role": "user", "content": joined}
        else:
            out.append(message)
    return out if len(out) < len(messages) else messages


def put_bot_words_first(
    messages: list[LLMContextMessage], turn_text: str, cut_off: list[LLMContextMessage]
) -> list[LLMContextMessage]:
    """Put the bot's cut-off words before the caller's interruption when written after it.

    Args:
        messages: The conversation; its last user message whose text is ``turn_text`` is the
            caller's interruption.
        turn_text: What the user aggregator wrote for the interrupting turn.
        cut_off: The messages the assistant aggregator wrote when it handled the interruption
            (the same objects as in ``messages``).

    Returns:
        ``messages`` with those of ``cut_off`` that follow the interruption moved before it:
        a new list when something moved, else ``messages`` itself.
    """
    at = next(
        (
            i
            for i in range(len(messages) - 1, -1, -1)
            if _is_user_text(messages[i]) and _content(messages[i]) == turn_text.strip()
        ),
        None,
    )
    if at is None:
        return messages
    late = [m for m in messages[at + 1 :] if any(m is c for c in cut_off)]
    if not late:
        return messages
    rest = [m for m in messages[at:] if not any(m is c for c in late)]
    return [*messages[:at], *late, *rest]


class ContextOrder(FrameProcessor):
    """Holds a context until the interruption before it settled, then puts it in order.

    Args:
        context: The call's context (the one both aggregators write).
    """

    def __init__(self, context: LLMContext) -> None:
        super().__init__()
        self._context = context
        self._pending: set[int] = set()  # interruptions not yet handled by the assistant side
        self._settled = asyncio.Event()
        self._settled.set()
        self._interrupted = False  # an interruption went down, its turn not written yet
        self._turn_text: str | None = None  # the caller's turn written after it
        self._cut_off: list[LLMContextMessage] = []  # what the assistant side wrote for it
        self._written_before = 0

    def follow(self, assistant_aggregator: FrameProcessor) -> None:
        """Watch ``assistant_aggregator`` handle each interruption: what it writes, and when."""

        @assistant_aggregator.event_handler("on_before_process_frame")
        async def _before(_processor: FrameProcessor, frame: Frame) -> None:
            if isinstance(frame, InterruptionFrame):
                self._written_before = len(self._context.get_messages())

        @assistant_aggregator.event_handler("on_after_process_frame")
        async def _after(_processor: FrameProcessor, frame: Frame) -> None:
            if isinstance(frame, InterruptionFrame):
                self._cut_off += self._context.get_messages()[self._written_before :]
                self._pending.discard(frame.id)
                if not self._pending:
                    self._settled.set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Track interruptions and the caller's turns going down; order each request's context.

        Args:
            frame: The frame.
            direction: Its direction.
        """
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, InterruptionFrame):
                self._pending.add(frame.id)
                self._settled.clear()
                self._interrupted, self._turn_text = True, None
            elif isinstance(frame, LLMContextUserTurnFrame) and self._interrupted:
                self._interrupted, self._turn_text = False, frame.text
            elif isinstance(frame, LLMContextFrame):
                await self._order(frame)
        await self.push_frame(frame, direction)

    async def _order(self, frame: LLMContextFrame) -> None:
        if not self._settled.is_set():
            try:
                await asyncio.wait_for(self._settled.wait(), SETTLE_SECS)
            except TimeoutError:
                logger.warning(f"{self}: the interruption did not settle in {SETTLE_SECS}s")
                self._pending.clear()
                self._settled.set()
        messages = self._context.get_messages()
        ordered = messages
        if self._turn_text is not None and self._cut_off:
            ordered = put_bot_words_first(ordered, self._turn_text, self._cut_off)
        self._turn_text, self._cut_off = None, []
        ordered = join_user_runs(ordered)
        if ordered is not messages:
            self._context.set_messages(ordered)
        if frame.speculation and frame.context is not self._context:
            # A speculative request asks a copy: the context so far, then the guessed turn.
            guess = frame.context.get_messages()[-1]
            frame.context.set_messages(join_user_runs([*ordered, guess]))
