"""One observer queue for all of a call's observers.

Pipecat's worker gives every observer its own queue and task, and reports to each one every
frame every processor handles (``on_process_frame``) as well as every push. None of the
call's observers reads ``on_process_frame``, so with five of them each audio frame cost five
queue hand-offs per processor for nothing. Grouped, the worker sees one observer; the group
passes each event on to the members that want it, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable

from loguru import logger
from pipecat.observers.base_observer import (
    BaseObserver,
    FrameProcessed,
    FramePushed,
    ProcessorSetUp,
)
from pipecat.utils.asyncio.task_manager import BaseTaskManager


def _reads_processing(observer: BaseObserver) -> bool:
    return type(observer).on_process_frame is not BaseObserver.on_process_frame


class ObserverGroup(BaseObserver):
    """Observers that share one of the worker's observer queues.

    Args:
        observers: The members, called in this order. One that raises is logged; the others
            still see the event.
    """

    def __init__(self, observers: list[BaseObserver]) -> None:
        super().__init__(observe_every_push=any(o.observe_every_push for o in observers))
        self._members = list(observers)
        self._every_push = [o for o in observers if o.observe_every_push]
        self._processing = [o for o in observers if _reads_processing(o)]

    async def setup(self, task_manager: BaseTaskManager) -> None:
        """Set up the group and each member on the worker's task manager."""
        await super().setup(task_manager)
        for observer in self._members:
            await observer.setup(task_manager)

    async def cleanup(self) -> None:
        """Clean up each member, then the group."""
        for observer in self._members:
            try:
                await observer.cleanup()
            except Exception:
                logger.exception(f"{observer}: cleanup failed")
        await super().cleanup()

    async def on_pipeline_started(self) -> None:
        """Tell every member the pipeline started."""
        for observer in self._members:
            await self._call(observer, observer.on_pipeline_started())

    async def on_push_frame(self, data: FramePushed) -> None:
        """A push: to every member on a frame's first push, to those that want every push."""
        for observer in self._members if data.first_push else self._every_push:
            await self._call(observer, observer.on_push_frame(data))

    async def on_process_frame(self, data: FrameProcessed) -> None:
        """A processor handling a frame: only to members that read it."""
        for observer in self._processing:
            await self._call(observer, observer.on_process_frame(data))

    async def on_processor_setup(self, data: ProcessorSetUp) -> None:
        """A processor's set-up timing, to every member."""
        for observer in self._members:
            await self._call(observer, observer.on_processor_setup(data))

    @staticmethod
    async def _call(observer: BaseObserver, event: Awaitable[None]) -> None:
        try:
            await event
        except Exception:
            logger.exception(f"{observer} failed on an event")
