"""Frames that look as if a pipeline's services pushed them, at the moment the test says.

``run_test`` sends frames from its own source. ``Emit(make)`` asks the ``Emitter`` (the
processor under test's stand-in for "the rest of the pipeline") to build the frame *now* and
push it, so Pipecat's observers see it first pushed by the emitter, with a fresh timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipecat.frames.frames import Frame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


@dataclass
class Emit(SystemFrame):
    """Build ``make(emitter_name)`` at emit time and push it downstream."""

    make: Callable[[str], Frame] | None = None


class Emitter(FrameProcessor):
    """Pushes what ``Emit`` frames build; passes everything else on."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Build and push emitted frames."""
        await super().process_frame(frame, direction)
        if isinstance(frame, Emit) and frame.make is not None:
            await self.push_frame(frame.make(self.name), FrameDirection.DOWNSTREAM)
        else:
            await self.push_frame(frame, direction)
