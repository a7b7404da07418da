"""Provider failovers in numbers and on the call's record.

Each switch of a stage's ``ServiceSwitcher`` (``providers.failover``) is logged, counted in
``switchboard_failovers_total{stage,to}`` and kept on the call (``call.failovers``), which
the call record stores as ``metadata.failovers`` when the call ends.
"""

from __future__ import annotations

import time
from typing import Any

from loguru import logger
from pipecat.pipeline.service_switcher import ServiceSwitcher

from assembly.call import Call, CallPlugin

STAGES = ("stt", "llm", "tts")


class FailoverRecord(CallPlugin):
    """Records every provider switch of a call.

    Args:
        metrics: The launcher's metrics (``launcher.metrics.LauncherMetrics``), or None.
    """

    def __init__(self, metrics: Any | None) -> None:
        self._metrics = metrics

    async def attach(self, call: Call) -> None:
        """Subscribe to the switch events of the call's stages that have a backup."""
        began = time.monotonic()
        for stage in STAGES:
            switcher = getattr(call.services, stage, None)
            if isinstance(switcher, ServiceSwitcher):
                self._watch(call, stage, switcher, began)

    def _watch(self, call: Call, stage: str, switcher: ServiceSwitcher, began: float) -> None:
        metrics = self._metrics
        names = [service.name for service in switcher.services]
        providers = [call.services.specs.get(stage), call.services.specs.get(f"{stage}_backup")]

        @switcher.strategy.event_handler("on_service_switched")
        async def _switched(strategy: Any, service: Any) -> None:
            index = names.index(service.name) if service.name in names else -1
            spec = providers[index] if 0 <= index < len(providers) else None
            to = "primary" if index == 0 else "backup"
            reason = getattr(strategy, "reason", "") or "switched"
            entry = {
                "stage": stage,
                "to": to,
                "provider": spec.provider if spec is not None else service.name,
                "reason": reason,
                "at_secs": round(time.monotonic() - began, 3),
            }
            call.failovers.append(entry)
            logger.warning(f"[{call.ctx.call_id}] {stage} failover: {entry}")
            if metrics is not None:
                metrics.failovers.labels(stage=stage, to=to).inc()

    def details(self, call: Call) -> dict[str, Any]:
        """The calls API's view: the switches so far."""
        return {"failovers": list(call.failovers)}
