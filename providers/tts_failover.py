"""A backup TTS that finishes what the failed TTS left unsaid, and a way back to the primary.

When the call's TTS switches (``FaultFailover``: the TTS is down for good or keeps faulting),
the TTS it leaves hands over its open replies (``RespeakingTTS.hand_over``): each ends with
what the caller heard, unsaid words unrecorded, and the TTS taking over speaks the unsaid rest
(a sentence cut by the fault is finished from the first word not heard; a greeting the failed
TTS swallowed is said whole). The rest goes into the context and the transcript as the caller
hears it, as an utterance of its own. While on the backup, the primary is probed
(``providers.reprobe``) and the call goes back to it when a new reply or utterance starts and
the backup has nothing left to play.
"""

from __future__ import annotations

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from providers.failover import FaultFailover
from providers.reprobe import ProbingSwitcher

WORD_GAP_NS = 1_000_000  # the follower's first word is timed this long after the leader's last


def _time_after(follower: FrameProcessor, leader: FrameProcessor) -> None:
    """Time the follower's next words after the leader's last one.

    Each TTS times its words from its own first audio, as if it played at once; the words are
    released to the context in that time order. The leader's audio may still be playing when
    the follower's arrives (it plays after), so without this the follower's first words would
    be timed, and stored, among the leader's last ones.
    """
    lead = getattr(leader, "_word_timestamp_tracker", None)
    follow = getattr(follower, "_word_timestamp_tracker", None)
    if lead is not None and follow is not None and lead.last_pts:
        follow.last_pts = max(follow.last_pts, lead.last_pts + WORD_GAP_NS)


class TTSFailover(FaultFailover):
    """``FaultFailover`` whose switch hands the failed TTS's unsaid text to the new one."""

    def __init__(self, services: list[FrameProcessor]) -> None:
        super().__init__(services)
        self.handed_over = ""  # what the last switch gave the new TTS to say

    async def _set_active_if_available(self, service: FrameProcessor) -> FrameProcessor | None:
        leaving = self.active_service
        if service is leaving or service not in self.services or not service.is_usable:
            return await super()._set_active_if_available(service)
        hand_over = getattr(leaving, "hand_over", None)
        # Taken before the switch is announced: its handlers know whether the new TTS says it.
        self.handed_over = await hand_over() if callable(hand_over) else ""
        switched = await super()._set_active_if_available(service)
        if switched is not None:
            _time_after(service, leaving)
        if switched is not None and self.handed_over:
            logger.warning(f"{service.name} says what {leaving.name} left: {self.handed_over!r}")
            await service.queue_frame(TTSSpeakFrame(self.handed_over, append_to_context=True))
        return switched


class TTSSwitcher(ProbingSwitcher):
    """A ``ServiceSwitcher`` for TTS: the unsaid rest goes to the backup, back when healthy.

    Args:
        services: The primary first, then the backup.
        probe_secs: How often to probe a primary the call switched away from (0: never).
        probe_timeout_secs: How long a probe may take.
    """

    def __init__(
        self, services: list[FrameProcessor], *, probe_secs: float, probe_timeout_secs: float
    ) -> None:
        super().__init__(
            services,
            strategy_type=TTSFailover,
            probe_secs=probe_secs,
            probe_timeout_secs=probe_timeout_secs,
        )
        self._in_reply = False

    def quiet(self, frame: Frame, direction: FrameDirection) -> bool:
        """A reply (or an utterance outside one) starts, and the backup has nothing to play."""
        if direction is not FrameDirection.DOWNSTREAM:
            return False
        starts = isinstance(frame, LLMFullResponseStartFrame) or (
            isinstance(frame, TTSSpeakFrame) and not self._in_reply
        )
        contexts = getattr(self.strategy.active_service, "get_audio_contexts", list)
        return starts and not contexts()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Follow the replies going through (a switch back waits for the next one)."""
        await super().process_frame(frame, direction)
        if direction is not FrameDirection.DOWNSTREAM:
            return
        if isinstance(frame, LLMFullResponseStartFrame):
            self._in_reply = True
        elif isinstance(frame, (LLMFullResponseEndFrame, InterruptionFrame)):
            self._in_reply = False
