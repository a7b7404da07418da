"""Per-turn voice-to-voice latency from Pipecat's ``UserBotLatencyObserver``.

Each turn's latency (user stopped speaking → bot started speaking) lands on the call (for the
calls API) and in the launcher's ``switchboard_voice_to_voice_seconds`` histogram; the time from
the caller connecting to the first bot speech is kept too.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.observers.base_observer import BaseObserver
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver

from assembly.pipeline import Call
from assembly.plugins import CallPlugin


class TurnLatency(CallPlugin):
    """Records voice-to-voice per turn; ``histogram`` is a Prometheus histogram or None."""

    def __init__(self, histogram: Any = None):
        self.histogram = histogram

    def observers(self, call: Call) -> list[BaseObserver]:
        """A latency observer wired to this call."""
        observer = UserBotLatencyObserver()

        @observer.event_handler("on_latency_measured")
        async def _on_turn(_observer: Any, seconds: float) -> None:
            call.turn_latencies.append(seconds)
            if self.histogram is not None:
                self.histogram.observe(seconds)
            logger.info(f"[{call.ctx.call_id}] turn {len(call.turn_latencies)}: {seconds:.3f}s")

        @observer.event_handler("on_first_bot_speech_latency")
        async def _on_first(_observer: Any, seconds: float) -> None:
            call.first_speech_secs = seconds

        return [observer]
