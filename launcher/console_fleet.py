"""The console's fleet view: active calls, calls per host, and per-stage latency over an hour."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request

from launcher import fleet_routes
from launcher.console_data import SCAN_LIMIT, epoch, list_calls
from storage.base import Storage, TurnMetrics

STAGES = ("end_of_turn", "stt", "llm", "tts", "tool", "own")
WINDOW_SECS = 3600
BUCKET_SECS = 300
READS_AT_ONCE = 8  # turn-metrics reads in flight (one per call)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _summary(rows: list[TurnMetrics]) -> dict[str, Any]:
    out: dict[str, Any] = {"turns": len(rows)}
    for stage in (*STAGES, "total"):
        values = [v for r in rows if (v := getattr(r, f"{stage}_ms")) is not None]
        out[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    return out


async def stage_latency(
    storage: Storage, call_ids: list[str], now: float | None = None
) -> dict[str, Any]:
    """p50/p95 per stage for every turn of the last hour, overall and per 5-minute bucket.

    Args:
        storage: Where turn metrics are.
        call_ids: The calls that ran in the window (their turns are read).
        now: The end of the window (epoch seconds).

    Returns:
        ``{"window_secs", "bucket_secs", "start", "overall", "buckets": [{"t", ...}]}``.
    """
    end = now if now is not None else time.time()
    start = (end // BUCKET_SECS + 1) * BUCKET_SECS - WINDOW_SECS
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def read(call_id: str) -> list[TurnMetrics]:
        async with gate:
            return await storage.list_turn_metrics(call_id)

    turns = [
        t
        for rows in await asyncio.gather(*(read(c) for c in call_ids))
        for t in rows
        if (epoch(t.created_at) or 0.0) >= start
    ]
    buckets: dict[int, list[TurnMetrics]] = {}
    for t in turns:
        index = int(((epoch(t.created_at) or start) - start) // BUCKET_SECS)
        buckets.setdefault(index, []).append(t)
    return {
        "window_secs": WINDOW_SECS,
        "bucket_secs": BUCKET_SECS,
        "start": start,
        "stages": list(STAGES),
        "overall": _summary(turns),
        "buckets": [
            {"t": start + i * BUCKET_SECS, **_summary(buckets.get(i, []))}
            for i in range(WINDOW_SECS // BUCKET_SECS)
        ],
    }


async def fleet_view(app: FastAPI, request: Request) -> dict[str, Any]:
    """Hosts and their slots, the calls active now, calls per host and latency of the hour."""
    hosts = await fleet_routes.fleet(request)
    here = app.state.settings.host_name
    if app.state.fleet is None:  # one host: "local" is this host, as its calls' rows name it
        hosts["hosts"] = [{**h, "host_id": here} for h in hosts["hosts"]]
    active = await list_calls(app, status="active", limit=500)
    since = time.time() - WINDOW_SECS
    hour = await list_calls(app, since=since, limit=SCAN_LIMIT)
    per_host = Counter(row["host"] or here for row in hour)
    active_per_host = Counter(row["host"] or here for row in active)
    return {
        **hosts,
        "this_host": here,
        "active_calls": active,
        "calls_last_hour": {"total": len(hour), "per_host": dict(per_host.most_common())},
        "active_per_host": dict(active_per_host.most_common()),
        "latency": await stage_latency(
            app.state.storage, [row["call_id"] for row in hour], time.time()
        ),
    }
