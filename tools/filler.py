"""No dead air while a tool runs: a short filler when a tool call is still running after a while.

The LLM service broadcasts ``FunctionCallInProgressFrame`` when a tool starts and
``FunctionCallResultFrame`` (or ``FunctionCallCancelFrame``) when it is over, both up and down
the pipeline. Placed before the LLM, this processor sees them travelling upstream; if a call
is still running ``after_secs`` later, it pushes a ``TTSSpeakFrame`` (kept out of the LLM
context) downstream through the LLM to TTS. One filler per batch of calls. The filler is an
ordinary, interruptible utterance: the caller can talk over it, and an interruption cancels a
pending filler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from pipecat.frames.frames import (
    Frame,
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InterruptionFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

DEFAULT_FILLER = "One moment please."


class ToolFiller(FrameProcessor):
    """Says ``text`` when a tool call is still running ``after_secs`` after it started.

    Args:
        after_secs: How long a tool may run in silence.
        text: The filler (short; it is spoken while the tool keeps running).
        quiet_tools: Tools that speak for themselves (goodbye, refusal...): never a filler.
    """

    def __init__(
        self,
        after_secs: float = 0.7,
        text: str = DEFAULT_FILLER,
        quiet_tools: Iterable[str] = (),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.after_secs = after_secs
        self.text = text
        self.quiet_tools = frozenset(quiet_tools)
        self.fillers_said = 0
        self._running: set[str] = set()
        self._said_for_batch = False
        self._timer: asyncio.Task | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Track tool calls; pass every frame on unchanged."""
        await super().process_frame(frame, direction)
        if isinstance(frame, FunctionCallInProgressFrame):
            if frame.function_name not in self.quiet_tools:
                self._running.add(frame.tool_call_id)
                if self._timer is None and not self._said_for_batch:
                    self._timer = self.create_task(self._fill_later(), name="tool_filler")
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            intermediate = (
                isinstance(frame, FunctionCallResultFrame)
                and frame.properties is not None
                and not frame.properties.is_final
            )
            if not intermediate:
                self._running.discard(frame.tool_call_id)
            if not self._running:
                await self._stop_timer()
                self._said_for_batch = False
        elif isinstance(frame, InterruptionFrame):
            await self._stop_timer()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        """Cancel a pending filler when the pipeline stops."""
        await super().cleanup()
        await self._stop_timer()

    async def _fill_later(self) -> None:
        await asyncio.sleep(self.after_secs)
        self._timer = None
        if not self._running or self._said_for_batch:
            return
        self._said_for_batch = True
        self.fillers_said += 1
        await self.push_frame(TTSSpeakFrame(self.text, append_to_context=False))

    async def _stop_timer(self) -> None:
        if self._timer is not None:
            timer, self._timer = self._timer, None
            await self.cancel_task(timer)
