"""No caller turn is met with silence: a filler while a reply is slow, an apology if it fails.

``ReplyWatch`` sits between the LLM and the TTS. Every reply the LLM starts
(``LLMFullResponseStartFrame``) is watched until its first words (or tool call):

* no words after ``filler_after_secs``: the persona's filler ("One moment, please.") is spoken
  from here, so a stuck LLM cannot hold it back;
* no words after ``reply_timeout_secs``: the request is given up (an interruption cancels it)
  and the caller hears the persona's apology, which asks them to say it again;
* the LLM ended the reply without a word or a tool call (it failed: a 5xx or 429 on every
  attempt, a timeout): the apology at once.

The apology is written to the context, so the LLM knows it asked the caller to repeat; the
filler is not. A new caller turn (an interruption) ends the watch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    FunctionCallInProgressFrame,
    FunctionCallsStartedFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


@dataclass(frozen=True)
class ReplyWatchPolicy:
    """A persona's limits and words (``TurnSettings``)."""

    filler_after_secs: float = 2.5
    reply_timeout_secs: float = 8.0
    filler: str = "One moment, please."
    apology: str = "Sorry, I didn't manage to answer that. Could you say it again?"


class ReplyWatch(FrameProcessor):
    """Watches each reply from the LLM's start to its first words.

    Event handlers: ``on_filler(watch)``, ``on_apology(watch, reason)`` (``failed`` or
    ``timeout``).

    Args:
        policy: The persona's limits and words.
    """

    def __init__(self, policy: ReplyWatchPolicy) -> None:
        super().__init__()
        self._policy = policy
        self._timer: asyncio.Task[None] | None = None
        self._watching = False  # a reply was asked and has no words yet
        self._answered = False  # the reply being generated has words (or a tool call)
        self._register_event_handler("on_filler")
        self._register_event_handler("on_apology")

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Follow the LLM's replies; speak a filler or an apology when one stays silent.

        Args:
            frame: The frame.
            direction: Its direction.
        """
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            await self._stop()
        elif direction != FrameDirection.DOWNSTREAM:
            return
        elif isinstance(frame, LLMFullResponseStartFrame):
            await self._stop()
            self._watching, self._answered = True, False
            self._timer = self.create_task(self._watch(), f"{self}::watch")
        elif isinstance(frame, LLMTextFrame) and frame.text.strip():
            await self._got_words()
        elif isinstance(frame, (FunctionCallsStartedFrame, FunctionCallInProgressFrame)):
            await self._got_words()
        elif isinstance(frame, LLMFullResponseEndFrame):
            failed = self._watching and not self._answered
            await self._stop()
            if failed:
                await self._apologise("failed")

    async def _got_words(self) -> None:
        self._answered = True
        await self._stop()

    async def _stop(self) -> None:
        self._watching = False
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            await self.cancel_task(timer)

    async def _watch(self) -> None:
        policy = self._policy
        await asyncio.sleep(policy.filler_after_secs)
        logger.warning(f"{self}: no words {policy.filler_after_secs}s into the reply: filler")
        await self.push_frame(TTSSpeakFrame(policy.filler, append_to_context=False))
        await self._call_event_handler("on_filler")
        await asyncio.sleep(max(0.0, policy.reply_timeout_secs - policy.filler_after_secs))
        logger.warning(f"{self}: no words {policy.reply_timeout_secs}s into the reply: given up")
        self._watching, self._timer = False, None
        await self.broadcast_interruption()  # cancels the LLM request that never answered
        await self._apologise("timeout")

    async def _apologise(self, reason: str) -> None:
        logger.warning(f"{self}: the reply {reason}: apologising")
        await self.push_frame(TTSSpeakFrame(self._policy.apology, append_to_context=True))
        await self._call_event_handler("on_apology", reason)
