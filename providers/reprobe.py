"""Back to the primary STT or TTS once it is healthy again, at a quiet moment only.

While a stage's backup is active, its primary is probed in the background every
``probe_secs``: the primary's ``probe()`` says whether its provider connection is up, and
connects it once if nobody is reconnecting it (a service written off after failed reconnects
is made usable again once it connects). Once a probe succeeds, the switcher goes back to the
primary at the next quiet moment of its stage (:meth:`ProbingSwitcher.quiet`): for the STT,
when the caller has been silent for a while; for the TTS, when a new reply or utterance starts
and the backup has nothing left to play. Never mid-utterance, never mid-reply. A backup that
keeps failing is switched away from as any service is, and the probe starts over.
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.pipeline.service_switcher import ServiceSwitcher
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from providers.failover import FaultFailover, ProbeOwner


class ProbingSwitcher(ProbeOwner, ServiceSwitcher):
    """A ``ServiceSwitcher`` that goes back to its primary when a probe finds it healthy.

    Args:
        services: The primary first (it offers ``async probe() -> bool``), then the backup.
        strategy_type: A :class:`~providers.failover.FaultFailover` strategy.
        probe_secs: How often to probe a primary the call switched away from (0: never).
        probe_timeout_secs: How long a probe may take.
    """

    def __init__(
        self,
        services: list[FrameProcessor],
        *,
        strategy_type: type[FaultFailover],
        probe_secs: float,
        probe_timeout_secs: float,
    ) -> None:
        super().__init__(services, strategy_type=strategy_type)
        self._probe_secs = probe_secs
        self._probe_timeout_secs = probe_timeout_secs
        self._probe: asyncio.Task | None = None
        self._primary_ready = False  # the last probe found the primary healthy

    def quiet(self, frame: Frame, direction: FrameDirection) -> bool:
        """Whether switching services before this frame cuts nothing the caller says or hears.

        Args:
            frame: The frame about to go through the switcher.
            direction: Its direction.

        Returns:
            False here; each stage says when it is quiet.
        """
        return False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Go back to a healthy primary at a quiet moment; probe it while it is not active."""
        primary = self.services[0]
        if self.strategy.active_service is not primary:
            if self._primary_ready and self.quiet(frame, direction):
                await self._switch_back(primary)
            elif self._probe is None and self._probe_secs > 0 and hasattr(primary, "probe"):
                self._probe = self.create_task(self._probe_primary(), name=f"{self}::probe")
        await super().process_frame(frame, direction)

    async def _switch_back(self, primary: FrameProcessor) -> None:
        self._primary_ready = False
        assert isinstance(self.strategy, FaultFailover)
        if await self.strategy.switch_back(primary):
            logger.info(f"{self}: back to {primary.name}")

    async def _probe_primary(self) -> None:
        primary = self.services[0]
        try:
            while self.strategy.active_service is not primary:
                await asyncio.sleep(self._probe_secs)
                try:
                    ready = await asyncio.wait_for(primary.probe(), self._probe_timeout_secs)
                except Exception as e:  # a probe that fails is the expected case
                    logger.debug(f"{self}: {primary.name} still down: {e!r}")
                    ready = False
                if ready and not self._primary_ready:
                    logger.info(f"{self}: {primary.name} is up again: back at a quiet moment")
                self._primary_ready = bool(ready)
        finally:
            self._probe = None
