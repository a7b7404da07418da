"""Per-call limits the runner enforces: a hard maximum duration and a silence hang-up.

Both end the call the polite way: a spoken goodbye, then the hang-up. A browser offer whose
media never connects is cancelled after ``connect_timeout`` so it does not hold a call slot.
"""

from __future__ import annotations

import asyncio
import time

from loguru import logger
from pipecat.frames.frames import (
    BotSpeakingFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserSpeakingFrame,
    UserStartedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed

from assembly.call import Call, CallPlugin
from calls.end_reason import EndReason
from transports.kinds import TransportKind

MAX_DURATION_GOODBYE = "I am sorry, we have reached the time limit for this call. Goodbye!"
IDLE_GOODBYE = "It sounds like you have stepped away, so I will hang up now. Goodbye!"
_ACTIVITY = (
    BotSpeakingFrame,
    UserSpeakingFrame,
    UserStartedSpeakingFrame,
    TranscriptionFrame,
    InterimTranscriptionFrame,
)


class _ActivityObserver(BaseObserver):
    """Remembers when anyone last spoke."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)  # a frame's first push is when it happened
        self.last = time.monotonic()

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, _ACTIVITY):
            self.last = time.monotonic()


class CallLimits(CallPlugin):
    """Ends a call at ``max_duration`` seconds, or after ``idle`` seconds of silence."""

    def __init__(
        self,
        max_duration: float,
        idle: float,
        connect_timeout: float = 10.0,
        check_every: float = 0.5,
    ):
        self.max_duration = max_duration
        self.idle = idle
        self.connect_timeout = connect_timeout
        self.check_every = check_every
        self._observers: dict[str, _ActivityObserver] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def observers(self, call: Call) -> list[BaseObserver]:
        """The activity observer for this call."""
        observer = _ActivityObserver()
        self._observers[call.ctx.call_id] = observer
        return [observer]

    async def attach(self, call: Call) -> None:
        """Start watching the call's clock."""
        self._tasks[call.ctx.call_id] = asyncio.create_task(self._watch(call))

    async def detach(self, call: Call) -> None:
        """Stop watching."""
        task = self._tasks.pop(call.ctx.call_id, None)
        if task is not None:
            task.cancel()
        self._observers.pop(call.ctx.call_id, None)

    async def _watch(self, call: Call) -> None:
        started = time.monotonic()
        activity = self._observers[call.ctx.call_id]
        while True:
            await asyncio.sleep(self.check_every)
            now = time.monotonic()
            if self._never_connected(call, now - started):
                logger.info(
                    f"[{call.ctx.call_id}] media did not connect within "
                    f"{self.connect_timeout:.0f}s: releasing the call"
                )
                await call.cancel(reason=EndReason.NEVER_CONNECTED)
                return
            if now - started >= self.max_duration:
                logger.info(f"[{call.ctx.call_id}] maximum call duration reached")
                await call.end(MAX_DURATION_GOODBYE, reason=EndReason.MAX_DURATION)
                return
            if call.connected.is_set() and now - activity.last >= self.idle:
                logger.info(f"[{call.ctx.call_id}] nobody spoke for {self.idle:.0f}s: hanging up")
                await call.end(IDLE_GOODBYE, reason=EndReason.IDLE)
                return

    def _never_connected(self, call: Call, elapsed: float) -> bool:
        # Only a browser offer: a room bot waits for its user, a phone stream is connected.
        waiting = call.ctx.transport == TransportKind.WEBRTC and not call.connected.is_set()
        return waiting and elapsed >= self.connect_timeout
