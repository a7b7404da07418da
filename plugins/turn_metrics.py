"""Turn-taking in numbers: why each turn ended, and what each barge-in turned out to be.

Subscribes to the adaptive strategies' events (``turntaking/``) and feeds the launcher's
Prometheus metrics and one log line per decision:

* ``switchboard_turn_ends_total{reason}``: ``words`` (the words were complete), ``acoustic``
  (smart-turn said finished), ``hold``, ``cap`` (an unfinished utterance waited out
  ``max_wait_secs``) or ``no_words``;
* ``switchboard_turn_end_silence_seconds``: silence after the caller's voice when it ended;
* ``switchboard_barge_ins_total{outcome}``: ``backchannel`` (the bot resumed) or
  ``interruption`` (the bot stopped), and ``switchboard_barge_in_pause_seconds{outcome}``.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from assembly.call import Call, CallPlugin


class TurnTakingMetrics(CallPlugin):
    """Reports the adaptive turn-taking decisions of every call.

    Args:
        metrics: The launcher's metrics (``launcher.metrics.LauncherMetrics``), or None.
    """

    def __init__(self, metrics: Any | None) -> None:
        self._metrics = metrics

    async def attach(self, call: Call) -> None:
        """Subscribe to the call's strategies."""
        turns = call.turn_taking
        if turns is None:
            return
        tag = call.ctx.call_id
        metrics = self._metrics
        if turns.end_of_turn is not None:

            @turns.end_of_turn.event_handler("on_end_of_turn")
            async def _ended(_strategy: Any, decision: Any) -> None:
                p = "-" if decision.probability is None else f"{decision.probability:.2f}"
                logger.info(
                    f"[{tag}] end of turn: {decision.reason} after {decision.silence_secs:.2f}s "
                    f"(words {decision.cue}, smart-turn {p})"
                )
                if metrics is not None:
                    metrics.turn_ends.labels(reason=decision.reason).inc()
                    metrics.turn_end_silence_seconds.observe(decision.silence_secs)

        if turns.barge_in is not None:

            @turns.barge_in.event_handler("on_backchannel")
            async def _backchannel(_strategy: Any, text: str, paused: float) -> None:
                logger.info(f"[{tag}] backchannel {text!r}: resumed after {paused:.2f}s")
                if metrics is not None:
                    metrics.barge_ins.labels(outcome="backchannel").inc()
                    metrics.barge_in_pause_seconds.labels(outcome="backchannel").observe(paused)

            @turns.barge_in.event_handler("on_interruption")
            async def _interruption(_strategy: Any, text: str, reason: str, paused: float) -> None:
                logger.info(f"[{tag}] interruption ({reason}) {text!r} after {paused:.2f}s")
                if metrics is not None:
                    metrics.barge_ins.labels(outcome="interruption").inc()
                    metrics.barge_in_pause_seconds.labels(outcome="interruption").observe(paused)
