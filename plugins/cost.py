"""Per-call cost estimate from Pipecat's usage metrics and a configurable price table.

Usage comes from the ``MetricsFrame``s services push with ``enable_usage_metrics``: STT audio
seconds (``STTUsageMetricsData``), LLM prompt/completion tokens (``LLMUsageMetricsData``) and
TTS characters (``TTSUsageMetricsData``); call minutes run from the caller connecting to the
end of the pipeline. Each is multiplied by its price (``PRICE_*`` settings, USD). The estimate
is live in ``GET /calls/{id}`` while the call runs and stored on the call row (``cost``) at
the end. LLM work outside the call (after-call analysis, memory extraction) is not included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from loguru import logger
from pipecat.frames.frames import CancelFrame, ClientConnectedFrame, EndFrame, MetricsFrame
from pipecat.metrics.metrics import (
    LLMUsageMetricsData,
    STTUsageMetricsData,
    TTSUsageMetricsData,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed

from assembly.call import Call, CallPlugin
from config import Settings

RESOURCE_KEY = "cost"
CURRENCY = "USD"


@dataclass(frozen=True)
class Prices:
    """The price table (USD)."""

    stt_per_min: float = 0.0
    llm_input_per_mtok: float = 0.0
    llm_output_per_mtok: float = 0.0
    tts_per_kchar: float = 0.0
    call_per_min: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Prices:
        """Prices from ``PRICE_*`` settings."""
        return cls(
            stt_per_min=settings.price_stt_per_min,
            llm_input_per_mtok=settings.price_llm_input_per_mtok,
            llm_output_per_mtok=settings.price_llm_output_per_mtok,
            tts_per_kchar=settings.price_tts_per_kchar,
            call_per_min=settings.price_call_per_min,
        )


class CallUsage(BaseObserver):
    """Accumulates one call's usage from metrics frames (each frame counted once)."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.stt_secs = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tts_chars = 0
        self.started: float | None = None  # monotonic, caller connected (or pipeline started)
        self.ended: float | None = None

    async def on_pipeline_started(self) -> None:
        """Start the call clock if no client-connected frame does (local audio)."""
        if self.started is None:
            self.started = time.monotonic()

    async def on_push_frame(self, data: FramePushed) -> None:
        """Add usage metrics; note when the caller connected and when the call ended."""
        frame = data.frame
        if isinstance(frame, MetricsFrame):
            for item in frame.data:
                self.add(item)
        elif isinstance(frame, ClientConnectedFrame):
            self.started = time.monotonic()
        elif isinstance(frame, EndFrame | CancelFrame) and self.ended is None:
            self.ended = time.monotonic()

    def add(self, item: Any) -> None:
        """Count one metrics item."""
        if isinstance(item, LLMUsageMetricsData):
            self.prompt_tokens += item.value.prompt_tokens
            self.completion_tokens += item.value.completion_tokens
        elif isinstance(item, TTSUsageMetricsData):
            self.tts_chars += item.value
        elif isinstance(item, STTUsageMetricsData):
            self.stt_secs += item.value.audio_seconds

    def call_secs(self) -> float:
        """Seconds from connection to the end (or to now while the call runs)."""
        if self.started is None:
            return 0.0
        return max(0.0, (self.ended or time.monotonic()) - self.started)


def estimate(usage: CallUsage, prices: Prices) -> dict[str, Any]:
    """The cost estimate: ``{"total", "currency", "items": {name: {quantity, unit, amount}}}``."""
    call_secs = usage.call_secs()
    rows = {
        "stt": (usage.stt_secs, "second", usage.stt_secs / 60 * prices.stt_per_min),
        "llm_input": (
            usage.prompt_tokens,
            "token",
            usage.prompt_tokens / 1e6 * prices.llm_input_per_mtok,
        ),
        "llm_output": (
            usage.completion_tokens,
            "token",
            usage.completion_tokens / 1e6 * prices.llm_output_per_mtok,
        ),
        "tts": (usage.tts_chars, "character", usage.tts_chars / 1000 * prices.tts_per_kchar),
        "call": (call_secs, "second", call_secs / 60 * prices.call_per_min),
    }
    items = {
        name: {
            "quantity": round(q, 3) if isinstance(q, float) else q,
            "unit": unit,
            "amount": round(amount, 8),
        }
        for name, (q, unit, amount) in rows.items()
    }
    total = sum(amount for _, _, amount in rows.values())
    return {"total": round(total, 8), "currency": CURRENCY, "items": items}


class CostPlugin(CallPlugin):
    """Counts usage per call; the estimate is live in the calls API and stored at the end.

    Args:
        prices: The price table.
        storage: The storage backend (``update_call``) or None.
    """

    def __init__(self, prices: Prices, storage: Any = None):
        self.prices = prices
        self.storage = storage

    def observers(self, call: Call) -> list[BaseObserver]:
        """This call's usage counter."""
        usage = CallUsage()
        call.resources[RESOURCE_KEY] = usage
        return [usage]

    def details(self, call: Call) -> dict[str, Any]:
        """The estimate so far, for ``GET /calls/{id}``."""
        usage = call.resources.get(RESOURCE_KEY)
        return {"cost": estimate(usage, self.prices)} if isinstance(usage, CallUsage) else {}

    async def detach(self, call: Call) -> None:
        """Freeze the call clock and store the estimate (a missing call row is not an error)."""
        usage = call.resources.get(RESOURCE_KEY)
        if not isinstance(usage, CallUsage):
            return
        if usage.ended is None:
            usage.ended = time.monotonic()
        cost = estimate(usage, self.prices)
        logger.info(f"[{call.ctx.call_id}] estimated cost {cost['total']:.6f} {CURRENCY}")
        if self.storage is None:
            return
        try:
            await self.storage.update_call(call.ctx.call_id, cost=cost)
        except KeyError:
            logger.debug(f"[{call.ctx.call_id}] no call row for the cost estimate")
        except Exception as exc:
            logger.warning(f"[{call.ctx.call_id}] cost not stored: {exc!r}")
