"""Scrape the launcher's Prometheus ``/metrics`` during a run (event-loop lag, active calls)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

LAG_HISTOGRAM = "switchboard_event_loop_lag_seconds"
LAG_MAX = "switchboard_event_loop_lag_max_seconds"
ACTIVE_CALLS = "switchboard_active_calls"
TASKS = "switchboard_asyncio_tasks"


@dataclass
class Scrape:
    """What one scrape of ``/metrics`` said.

    Attributes:
        t: Seconds since the scraper started.
        lag_max: Largest event-loop lag since the previous scrape (seconds).
        active_calls: Calls running in the launcher.
        tasks: Asyncio tasks alive in the launcher's loop.
        lag_buckets: Cumulative ``le`` → count of the lag histogram.
    """

    t: float
    lag_max: float | None
    active_calls: float | None
    tasks: float | None
    lag_buckets: dict[float, float] = field(default_factory=dict)


WORKER_LAG_HISTOGRAM = "switchboard_worker_event_loop_lag_seconds"
WORKER_LAG_MAX = "switchboard_worker_event_loop_lag_max_seconds"


def parse_metrics(text: str) -> tuple[dict[str, float], dict[float, float]]:
    """Gauges by name, and the lag histogram's cumulative buckets, from exposition text.

    When calls run in worker processes (``PROCESS_MODEL=workers|process_per_call``) the lag
    that matters is the workers' (where the calls run): their histograms are summed and the
    largest of their maxima is taken; the launcher's own loop is used otherwise.
    """
    gauges: dict[str, float] = {}
    buckets: dict[float, float] = {}
    worker_buckets: dict[float, float] = {}
    worker_max: list[float] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{LAG_HISTOGRAM}_bucket":
                buckets[float(s.labels["le"])] = s.value
            elif s.name == f"{WORKER_LAG_HISTOGRAM}_bucket":
                le = float(s.labels["le"])
                worker_buckets[le] = worker_buckets.get(le, 0.0) + s.value
            elif s.name == WORKER_LAG_MAX:
                worker_max.append(s.value)
            elif s.name in (LAG_MAX, ACTIVE_CALLS, TASKS):
                gauges[s.name] = s.value
    if worker_buckets:
        gauges[LAG_MAX] = max(worker_max, default=0.0)
        return gauges, worker_buckets
    return gauges, buckets


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Quantile of the observations made between two scrapes (Prometheus-style interpolation).

    Args:
        q: Quantile in [0, 1].
        before: Cumulative buckets at the start of the window (empty for "since start").
        after: Cumulative buckets at the end.

    Returns:
        The estimate in seconds (the highest finite bound if it falls in ``+Inf``; NaN if empty).
    """
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            width = count - prev_count
            frac = (rank - prev_count) / width if width > 0 else 1.0
            return prev_bound + (bound - prev_bound) * frac
        prev_bound, prev_count = bound, count
    return prev_bound


class MetricsScraper:
    """Scrapes ``/metrics`` every ``interval`` seconds in the current event loop.

    Args:
        base_url: The launcher's base URL.
        interval: Seconds between scrapes.
    """

    def __init__(self, base_url: str, interval: float = 1.0) -> None:
        self.url = f"{base_url}/metrics"
        self.interval = interval
        self.scrapes: list[Scrape] = []
        self.errors = 0
        self._t0 = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    async def scrape(self) -> Scrape | None:
        """Scrape once now; ``None`` (and an error counted) if the launcher did not answer."""
        http = self._http or httpx.AsyncClient(timeout=5)
        try:
            resp = await http.get(self.url)
            resp.raise_for_status()
        except httpx.HTTPError:
            self.errors += 1
            return None
        finally:
            if self._http is None:
                await http.aclose()
        gauges, buckets = parse_metrics(resp.text)
        scrape = Scrape(
            round(time.monotonic() - self._t0, 3),
            gauges.get(LAG_MAX),
            gauges.get(ACTIVE_CALLS),
            gauges.get(TASKS),
            buckets,
        )
        self.scrapes.append(scrape)
        return scrape

    async def _loop(self) -> None:
        while True:
            await self.scrape()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> MetricsScraper:
        self._t0 = time.monotonic()
        self._http = httpx.AsyncClient(timeout=5)
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.scrape()  # the window's closing reading
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def active_calls(self) -> float | None:
        """Active calls at the latest scrape."""
        return self.scrapes[-1].active_calls if self.scrapes else None

    def summary(self) -> dict[str, Any]:
        """Lag p50/p95/p99 over the window (histogram), max lag, peak active calls and tasks."""
        if not self.scrapes:
            return {"scrapes": 0, "scrape_errors": self.errors}
        first, last = self.scrapes[0].lag_buckets, self.scrapes[-1].lag_buckets
        maxes = [s.lag_max for s in self.scrapes if s.lag_max is not None]
        return {
            "scrapes": len(self.scrapes),
            "scrape_errors": self.errors,
            "loop_lag_p50_secs": _round(histogram_quantile(0.5, first, last)),
            "loop_lag_p95_secs": _round(histogram_quantile(0.95, first, last)),
            "loop_lag_p99_secs": _round(histogram_quantile(0.99, first, last)),
            "loop_lag_max_secs": _round(max(maxes, default=math.nan)),
            "loop_lag_samples": (last.get(math.inf, 0.0) - first.get(math.inf, 0.0)),
            "peak_active_calls": max((s.active_calls or 0 for s in self.scrapes), default=0),
            "peak_asyncio_tasks": max((s.tasks or 0 for s in self.scrapes), default=0),
        }

    def to_dict(self) -> list[dict[str, Any]]:
        """The scrapes as JSON-ready rows (buckets left out)."""
        return [
            {"t": s.t, "lag_max": s.lag_max, "active_calls": s.active_calls, "tasks": s.tasks}
            for s in self.scrapes
        ]


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)
