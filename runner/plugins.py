"""Which plugins every call gets: the one list, so routes and personas never wire processors."""

from __future__ import annotations

from typing import Any

from assembly.call import CallPlugin
from config import Settings
from memory import memory_backend
from plugins.call_record import CallRecordPlugin
from plugins.cost import CostPlugin, Prices
from plugins.failovers import FailoverRecord
from plugins.latency_breakdown import LatencyBreakdownPlugin
from plugins.limits import CallLimits
from plugins.memory_recall import MemoryPlugin
from plugins.recording import CallRecording
from plugins.transcript_store import TranscriptStore
from plugins.turn_metrics import TurnTakingMetrics
from storage import Storage


def default_plugins(settings: Settings, metrics: Any, storage: Storage) -> list[CallPlugin]:
    """The plugins of a launcher call, in slot order where order matters.

    Args:
        settings: Process settings.
        metrics: The launcher's Prometheus metrics (``launcher.metrics.LauncherMetrics``).
        storage: The opened storage backend.
    """
    return [
        CallRecordPlugin(storage, settings),  # first: the calls row before anything hangs off it
        TranscriptStore(storage),
        CallRecording(storage, settings),
        CallLimits(
            settings.max_call_duration_secs,
            settings.idle_hangup_secs,
            settings.connect_timeout_secs,
        ),
        LatencyBreakdownPlugin(storage, metrics),
        TurnTakingMetrics(metrics),
        FailoverRecord(metrics),
        CostPlugin(Prices.from_settings(settings), storage),
        MemoryPlugin(settings, memory_backend(settings, storage), metrics),
    ]
