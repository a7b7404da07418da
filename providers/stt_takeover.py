"""A backup STT that takes over, with the caller's audio, when the primary's socket stays down.

The primary (``providers.deepgram_stt``) keeps the caller's audio while its socket is down and
sends it once the socket is back, so a short drop costs nothing. When the socket stays down
longer than ``takeover_secs`` (the provider refuses to reconnect), waiting on it would leave
the caller's turn unanswered: the backup becomes the active STT and is handed the kept audio
first, then the live audio, so the turn spoken during the outage is transcribed and answered.
The primary is probed meanwhile (``providers.reprobe``), and the call goes back to it once it is
up again and the caller has been silent for ``QUIET_SECS`` (the backup has finalised their turn).
"""

from __future__ import annotations

import time

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from providers.failover import FaultFailover
from providers.reprobe import ProbingSwitcher

TAKEOVER_SECS = 1.0  # the primary's socket down this long: the backup takes over
CHUNK_SECS = 0.02  # the kept audio goes to the backup in frames of this length
QUIET_SECS = 1.5  # the caller silent this long: the STT may change (their turn is finalised)


class TakeoverFailover(FaultFailover):
    """``FaultFailover`` that also switches when the primary's socket stays down."""

    async def take_over(self, backup: FrameProcessor) -> FrameProcessor | None:
        """Make ``backup`` active: the primary is down for too long."""
        self.reason = "down"
        return await self._set_active_if_available(backup)


class STTSwitcher(ProbingSwitcher):
    """A ``ServiceSwitcher`` for STT whose backup takes over a primary that stays down.

    Args:
        services: The primary first (it may offer ``down_secs``, ``take_kept_audio`` and
            ``probe``), then the backup.
        takeover_secs: How long the primary may stay down before the backup takes over.
        probe_secs: How often to probe a primary the call switched away from (0: never).
        probe_timeout_secs: How long a probe may take.
    """

    def __init__(
        self,
        services: list[FrameProcessor],
        takeover_secs: float = TAKEOVER_SECS,
        *,
        probe_secs: float = 0.0,
        probe_timeout_secs: float = 4.0,
    ):
        super().__init__(
            services,
            strategy_type=TakeoverFailover,
            probe_secs=probe_secs,
            probe_timeout_secs=probe_timeout_secs,
        )
        self._takeover_secs = takeover_secs
        self._caller_speaking = False
        self._silent_since = time.monotonic()

    def quiet(self, frame: Frame, direction: FrameDirection) -> bool:
        """Between the caller's utterances, once the last one had time to be finalised."""
        return (
            isinstance(frame, InputAudioRawFrame)
            and not self._caller_speaking
            and time.monotonic() - self._silent_since >= QUIET_SECS
        )

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Check the primary with each audio frame; switch and hand over its audio if down."""
        if isinstance(frame, VADUserStartedSpeakingFrame):  # broadcast: seen both ways
            self._caller_speaking = True
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._caller_speaking = False
            self._silent_since = time.monotonic()
        if isinstance(frame, InputAudioRawFrame):
            primary = self.services[0]
            down = getattr(primary, "down_secs", 0.0)
            if self.strategy.active_service is primary and down > self._takeover_secs:
                await self._take_over(primary, frame)
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Pass frames on; after any switch away from the primary, hand over its kept audio."""
        before = self.strategy.active_service
        await super().push_frame(frame, direction)
        if before is self.services[0] and self.strategy.active_service is not before:
            await self._hand_over(before, self.strategy.active_service, None)

    async def _take_over(self, primary: FrameProcessor, frame: InputAudioRawFrame) -> None:
        backup = next((s for s in self.services[1:] if s.is_usable), None)
        assert isinstance(self.strategy, TakeoverFailover)
        if backup is None or not await self.strategy.take_over(backup):
            return
        logger.warning(f"{primary.name} down {primary.down_secs:.1f}s: {backup.name} takes over")
        await self._hand_over(primary, backup, frame)

    async def _hand_over(
        self, primary: FrameProcessor, backup: FrameProcessor, like: InputAudioRawFrame | None
    ) -> None:
        take = getattr(primary, "take_kept_audio", None)
        audio = take() if callable(take) else b""
        if not audio:
            return
        rate = like.sample_rate if like is not None else primary.sample_rate
        channels = like.num_channels if like is not None else 1
        step = int(rate * CHUNK_SECS) * 2 * channels
        logger.info(f"{backup.name} gets {len(audio) / (2 * channels * rate):.1f}s of kept audio")
        for i in range(0, len(audio), step):
            chunk = InputAudioRawFrame(
                audio=audio[i : i + step], sample_rate=rate, num_channels=channels
            )
            await backup.queue_frame(chunk, FrameDirection.DOWNSTREAM)
