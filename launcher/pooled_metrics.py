"""``/metrics`` with calls in worker processes, and across the hosts of a fleet.

With workers: the launcher's metrics plus the workers'. Per-call metrics (voice-to-voice, turn
stages, memory recall) are observed where the call runs, so the launcher scrapes each worker and
re-labels its samples with ``worker="<index>"``. A family the launcher has too (event-loop lag,
calls started) is renamed ``switchboard_worker_*`` so the two are never mixed. In a fleet: every
host's metrics (its launcher's and workers'), each sample labelled ``host``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

PREFIX, WORKER_PREFIX = "switchboard_", "switchboard_worker_"
HOST_UP = "switchboard_fleet_host_up"


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


def merge_hosts(hosts: dict[str, str | None]) -> bytes:
    """Every host's exposition in one, each sample labelled ``host="<id>"``.

    Args:
        hosts: Host id → that host's own exposition text (None: it did not answer).

    Returns:
        One valid exposition text, with ``switchboard_fleet_host_up{host}`` (1: answered, 0: its
        series are missing from this scrape).
    """
    merged: dict[str, Metric] = {}
    up = GaugeMetricFamily(
        HOST_UP, "1: the host answered this scrape, 0: it did not", labels=["host"]
    )
    for host, text in sorted(hosts.items()):
        up.add_metric([host], 0 if text is None else 1)
        for family in text_string_to_metric_families(text or ""):
            target = merged.setdefault(
                family.name, Metric(family.name, family.documentation, family.type)
            )
            target.samples.extend(
                Sample(s.name, {**s.labels, "host": host}, s.value, s.timestamp)
                for s in family.samples
            )
    registry = CollectorRegistry()
    registry.register(_Families([*merged.values(), up]))  # type: ignore[arg-type]
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
