"""``/metrics`` when calls run in worker processes: the launcher's metrics plus the workers'.

Per-call metrics (voice-to-voice, turn stages, memory recall) are observed where the call runs,
so the launcher scrapes each worker and re-labels its samples with ``worker="<index>"``. A
family the launcher has too (event-loop lag, calls started) is renamed ``switchboard_worker_*``
so the two are never mixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

PREFIX, WORKER_PREFIX = "switchboard_", "switchboard_worker_"


class _Families:
    """A collector yielding already-built metric families."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


# What the launcher itself observes when calls run in workers; the workers' own families of the
# same names are renamed. Every other family (voice-to-voice, stages, recall) comes from workers.
LAUNCHER_OWN = {
    "switchboard_active_calls",
    "switchboard_calls_started",
    "switchboard_calls_ended",
    "switchboard_dispatch_seconds",
    "switchboard_event_loop_lag_seconds",
    "switchboard_event_loop_lag_max_seconds",
    "switchboard_asyncio_tasks",
}


def merge(own: bytes, workers: dict[str, str]) -> bytes:
    """The launcher's own families plus every worker's, re-labelled with ``worker``.

    Args:
        own: The launcher's rendered metrics.
        workers: Worker label → that worker's exposition text.

    Returns:
        One valid exposition text.
    """
    merged: dict[str, Metric] = {}
    for label, text in workers.items():
        for family in text_string_to_metric_families(text):
            name = family.name
            if name in LAUNCHER_OWN:
                name = WORKER_PREFIX + name[len(PREFIX) :]
            target = merged.setdefault(name, Metric(name, family.documentation, family.type))
            for s in family.samples:
                sample_name = s.name.replace(family.name, name, 1)
                target.samples.append(
                    Sample(sample_name, {**s.labels, "worker": label}, s.value, s.timestamp)
                )
    launcher = [
        f
        for f in text_string_to_metric_families(own.decode())
        if f.name in LAUNCHER_OWN or f.name not in merged
    ]
    registry = CollectorRegistry()
    registry.register(_Families([*launcher, *merged.values()]))  # type: ignore[arg-type]
    return generate_latest(registry)


async def scrape(workers: Iterable[Any]) -> dict[str, str]:
    """Each live worker's ``/internal/metrics`` text, keyed by its index."""
    out: dict[str, str] = {}
    for worker in workers:
        try:
            response = await worker.http.get("/internal/metrics")
        except Exception:  # a worker going away mid-scrape is not an error of the scrape
            continue
        if response.status_code == 200:
            out[str(worker.index)] = response.text
    return out
