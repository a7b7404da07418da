"""Backup providers per stage, on Pipecat's ``ServiceSwitcher`` / ``LLMSwitcher``.

Pipecat's failover strategy switches only when a service can no longer work at all (a
rejected key); a provider answering 500, refusing with 429, unreachable or timing out stays
active, and the caller gets no answer. :class:`FaultFailover` also switches on those, once
they repeat (``faults_to_switch`` within ``window_secs``; each LLM error already follows the
client's quick retry, so one is enough there).

For the LLM, :class:`FailoverLLM` also answers the turn that failed: the request goes again
to the backup, and the caller hears one reply (the failed attempt's empty response is not
passed on, so the reply watch does not apologise for it). While on the backup, the primary
is probed in the background every ``probe_secs`` with a one-word request, and the call
switches back once it answers. The STT's backup also takes over, with the caller's audio the
primary kept, when the primary's socket stays down (``providers.stt_takeover``); the TTS's
backup says what the failed TTS left unsaid (``providers.tts_failover``). The STT and TTS
primaries are probed too, and the call goes back to them at a quiet moment
(``providers.reprobe``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from loguru import logger
from pipecat.frames.frames import (
    ErrorFrame,
    FunctionCallsStartedFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.pipeline.llm_switcher import LLMSwitcher
from pipecat.pipeline.service_switcher import ServiceSwitcherStrategyFailover
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.utils.errors import ErrorCategory

# Faults that another provider may not have: the provider's side, the network, its limits.
SWITCH_ON = frozenset(
    {
        ErrorCategory.SERVER,
        ErrorCategory.CONNECTIVITY,
        ErrorCategory.RATE_LIMIT,
        ErrorCategory.QUOTA,
    }
)
PROBE = [{"role": "user", "content": "Reply with the single word OK."}]


class FaultFailover(ServiceSwitcherStrategyFailover):
    """Pipecat's failover, plus a switch on repeated provider faults.

    Event handlers (Pipecat's): ``on_service_switched(strategy, service)``.
    """

    faults_to_switch = 2
    window_secs = 30.0

    def __init__(self, services: list[FrameProcessor]) -> None:
        super().__init__(services)
        self._faults: deque[float] = deque()
        self.reason = ""  # why the last switch happened (an error category or "unusable")

    async def handle_error(self, error: ErrorFrame) -> FrameProcessor | None:
        """Switch when the active service is down for good or keeps faulting."""
        failed = error.processor or self.active_service
        if not failed.is_usable:
            self.reason = "unusable"
            return await super().handle_error(error)
        if error.category not in SWITCH_ON:
            return None
        now = time.monotonic()
        self._faults.append(now)
        while self._faults and now - self._faults[0] > self.window_secs:
            self._faults.popleft()
        if len(self._faults) < self.faults_to_switch:
            return None
        index = self.services.index(self.active_service)
        for offset in range(1, len(self.services)):
            candidate = self.services[(index + offset) % len(self.services)]
            if candidate.is_usable:
                self._faults.clear()
                self.reason = error.category.value if error.category else "fault"
                logger.warning(f"{failed.name} keeps failing ({self.reason}): switching")
                return await self._set_active_if_available(candidate)
        return None

    async def switch_back(self, service: FrameProcessor) -> FrameProcessor | None:
        """Make ``service`` active again (it answered a probe)."""
        self.reason = "recovered"
        self._faults.clear()
        return await self._set_active_if_available(service)


class LLMFaultFailover(FaultFailover):
    """For LLMs: each error already includes one quick retry, so one error switches."""

    faults_to_switch = 1


class ProbeOwner:
    """Mixin for a switcher that probes its primary in one background task (``_probe``).

    The task is cancelled with the processor; put the mixin before the Pipecat base class.
    """

    _probe: asyncio.Task | None = None

    async def cleanup(self) -> None:
        """Stop probing."""
        if self._probe is not None:
            await self.cancel_task(self._probe)  # type: ignore[attr-defined]
        await super().cleanup()  # type: ignore[misc]


class FailoverLLM(ProbeOwner, LLMSwitcher):
    """An ``LLMSwitcher`` that answers a failed turn on the backup and re-probes the primary.

    Args:
        llms: The primary first, then its backups.
        probe_secs: How often to probe a primary the call switched away from.
        probe_timeout_secs: How long a probe may take.
    """

    def __init__(
        self, llms: list[LLMService], *, probe_secs: float, probe_timeout_secs: float
    ) -> None:
        super().__init__(llms, strategy_type=LLMFaultFailover)
        self._probe_secs = probe_secs
        self._probe_timeout_secs = probe_timeout_secs
        self._request: LLMContextFrame | None = None  # the request being answered
        self._answered = False  # words or a tool call came back for it
        self._retried = False  # it was asked again once already (never twice: no ping-pong)
        self._hide_end = self._hide_start = False  # the failed attempt's empty response
        self._turn_ended = True  # the caller's turn ended (an early reply is confirmed)
        self._probe: asyncio.Task | None = None

    async def process_frame(self, frame, direction: FrameDirection) -> None:
        """Remember the request in flight (to answer it again after a switch)."""
        if isinstance(frame, LLMContextFrame) and direction is FrameDirection.DOWNSTREAM:
            self._request, self._answered, self._retried = frame, False, False
        elif isinstance(frame, InterruptionFrame):
            self._request = None
            self._hide_end = self._hide_start = False
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._turn_ended = False
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._turn_ended = True
        await super().process_frame(frame, direction)

    async def push_frame(self, frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Pass frames on; after a switch, ask the backup and hide the failed attempt's end."""
        if direction is FrameDirection.DOWNSTREAM:
            if isinstance(frame, (LLMTextFrame, FunctionCallsStartedFrame)):
                self._answered = True
            elif isinstance(frame, LLMFullResponseEndFrame) and self._hide_end:
                self._hide_end = False
                return
            elif isinstance(frame, LLMFullResponseStartFrame) and self._hide_start:
                self._hide_start = False
                return
        if not isinstance(frame, ErrorFrame) or frame.processor not in self.llms:
            await super().push_frame(frame, direction)
            return
        before = self.strategy.active_service
        await super().push_frame(frame, direction)
        after = self.strategy.active_service
        if after is before:
            return
        if self._request is not None and not self._answered and not self._retried:
            self._retried = True
            logger.info(f"{self}: {after.name} answers the turn {before.name} failed")
            self._hide_end = self._hide_start = True
            # An early reply whose turn has ended since is no longer a guess: the backup's
            # speculation gate never saw that end, so it must not hold the answer for it.
            speculation = self._request.speculation and not self._turn_ended
            retry = LLMContextFrame(context=self._request.context, speculation=speculation)
            await after.queue_frame(retry, FrameDirection.DOWNSTREAM)
        if before is self.llms[0] and self._probe is None:
            self._probe = self.create_task(self._probe_primary(), name=f"{self}::probe")

    async def _probe_primary(self) -> None:
        primary = self.llms[0]
        try:
            while self.strategy.active_service is not primary and primary.is_usable:
                await asyncio.sleep(self._probe_secs)
                try:
                    answer = await asyncio.wait_for(
                        primary.run_inference(LLMContext(messages=list(PROBE)), max_tokens=5),
                        self._probe_timeout_secs,
                    )
                except Exception as e:  # a probe that fails is the expected case
                    logger.debug(f"{self}: {primary.name} still failing: {e!r}")
                    continue
                if answer:
                    logger.info(f"{self}: {primary.name} answers again: switching back")
                    assert isinstance(self.strategy, FaultFailover)
                    await self.strategy.switch_back(primary)
        finally:
            self._probe = None
