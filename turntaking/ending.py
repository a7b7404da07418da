"""The caller is not heard once the call is ending: a Pipecat user mute strategy.

When Switchboard ends a call with a goodbye (drain, time limit, operator), the goodbye must be
the last thing the caller hears. Anything they say meanwhile would start a turn, interrupt the
goodbye and ask the LLM for a reply that plays after it. ``CallEnding`` mutes the caller from
the moment the end begins.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.turns.user_mute import BaseUserMuteStrategy


class CallEnding(BaseUserMuteStrategy):
    """Mutes the caller once ``begin()`` was called (the call is saying goodbye)."""

    def __init__(self) -> None:
        super().__init__()
        self.ending = False

    def begin(self) -> None:
        """The call is ending: from now on the caller starts no turn."""
        self.ending = True

    async def process_frame(self, frame: Frame) -> bool:
        """Whether the caller is muted now.

        Args:
            frame: The frame the user aggregator is about to handle.
        """
        return self.ending
