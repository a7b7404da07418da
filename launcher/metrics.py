"""Prometheus metrics for the launcher, and the event-loop lag monitor that feeds them."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from fleet.peers import REGISTRY, peers_of
from launcher.auth import require_api_key

router = APIRouter()

_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
_LATENCY_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


class LauncherMetrics:
    """The launcher's metrics, in their own registry (one per app, so tests stay isolated)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.active_calls = Gauge(
            "switchboard_active_calls", "Calls running now", registry=self.registry
        )
        self.calls_started = Counter(
            "switchboard_calls_started", "Calls started", ["transport"], registry=self.registry
        )
        self.calls_ended = Counter(
            "switchboard_calls_ended", "Calls ended, by reason", ["reason"], registry=self.registry
        )
        self.dispatch_seconds = Histogram(
            "switchboard_dispatch_seconds",
            "Room request or media stream → bot built and starting",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.voice_to_voice_seconds = Histogram(
            "switchboard_voice_to_voice_seconds",
            "User stopped speaking → bot started speaking",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        # --- per-turn latency stages and memory recall (processors/) ---
        self.turn_stage_seconds = Histogram(
            "switchboard_turn_stage_seconds",
            "Where a turn's voice-to-voice time went, by stage (total = the sum)",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.memory_recall_seconds = Histogram(
            "switchboard_memory_recall_seconds",
            "Memory recall time of turns that made the budget",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.memory_recall_misses = Counter(
            "switchboard_memory_recall_misses",
            "Turns that went without memories (recall over budget or failed), by reason",
            ["reason"],
            registry=self.registry,
        )
        # --- turn-taking (plugins/turn_metrics.py) ---
        self.turn_ends = Counter(
            "switchboard_turn_ends",
            "Caller turns ended, by why (words, acoustic, hold, cap, no_words)",
            ["reason"],
            registry=self.registry,
        )
        self.turn_end_silence_seconds = Histogram(
            "switchboard_turn_end_silence_seconds",
            "Silence after the caller's voice when their turn was ended",
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.barge_ins = Counter(
            "switchboard_barge_ins",
            "Caller speech over the bot, by outcome (backchannel: resumed; interruption)",
            ["outcome"],
            registry=self.registry,
        )
        self.barge_in_pause_seconds = Histogram(
            "switchboard_barge_in_pause_seconds",
            "How long the bot was paused before a barge-in was decided",
            ["outcome"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        # --- admission and the fleet ---
        self.calls_refused = Counter(
            "switchboard_calls_refused",
            "Calls refused before they started, by transport and reason (full, draining, "
            "not_ready, not_configured)",
            ["transport", "reason"],
            registry=self.registry,
        )
        self.calls_moved = Counter(
            "switchboard_calls_moved",
            "Live calls of a dead host moved to another one (outcome: moved, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_backlog = Gauge(
            "switchboard_webhook_backlog",
            "Webhook events not delivered (pending: will be retried; failed: gave up)",
            ["status"],
            registry=self.registry,
        )
        # --- provider failover (plugins/failovers.py) ---
        self.failovers = Counter(
            "switchboard_failovers",
            "Provider switches of a call's stage (to its backup, or back to the primary)",
            ["stage", "to"],
            registry=self.registry,
        )
        self.loop_lag_seconds = Histogram(
            "switchboard_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 100 ms)",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "switchboard_event_loop_lag_max_seconds",
            "Largest event-loop lag since the previous scrape",
            registry=self.registry,
        )
        self.asyncio_tasks = Gauge(
            "switchboard_asyncio_tasks", "Asyncio tasks alive in the loop", registry=self.registry
        )
        self._lag_max = 0.0

    async def watch_loop(self, interval: float = 0.1) -> None:
        """Sample event-loop lag forever (cancel to stop)."""
        while True:
            before = time.perf_counter()
            await asyncio.sleep(interval)
            lag = max(0.0, time.perf_counter() - before - interval)
            self.loop_lag_seconds.observe(lag)
            self._lag_max = max(self._lag_max, lag)

    def render(self) -> bytes:
        """The exposition text; resets the since-last-scrape maximum."""
        self.loop_lag_max.set(self._lag_max)
        self._lag_max = 0.0
        self.asyncio_tasks.set(len(asyncio.all_tasks()))
        return generate_latest(self.registry)


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_api_key)])
async def metrics(request: Request, scope: Literal["fleet", "host"] = "fleet") -> Response:
    """Prometheus scrape endpoint (in production with the API key: Prometheus' bearer token).

    In a fleet the answer is every live host's metrics, labelled ``host``, whichever launcher
    answers: scrape the fleet's shared address as one target. ``?scope=host`` (and a request
    from another host) gives this host's alone, for scraping each host as its own target.
    """
    body = await _host_metrics(request)
    peers = peers_of(request)
    if peers is not None and scope == "fleet":
        from launcher.pooled_metrics import merge_hosts

        fleet = await peers.ask_all("GET", "/metrics?scope=host")
        texts: dict[str, str | None] = {peers.host_id: body.decode()}
        texts.update((host, answer.text) for host, answer in fleet.answers)
        texts.update((host, None) for host in fleet.unreachable if host != REGISTRY)
        body = merge_hosts(texts)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


def count_refusal(app: Any, transport: str, reason: str) -> None:
    """Count a call refused before it started (``switchboard_calls_refused_total``)."""
    app.state.metrics.calls_refused.labels(transport=transport, reason=reason).inc()


async def _webhook_backlog(request: Request) -> None:
    """Count the outbox's undelivered events into the gauge (at scrape time, no rows read)."""
    gauge = request.app.state.metrics.webhook_backlog
    for status in ("pending", "failed"):
        try:
            count = await request.app.state.storage.count_events(status)
        except Exception:  # storage away: the gauge keeps its last value
            continue
        gauge.labels(status=status).set(count)


async def _host_metrics(request: Request) -> bytes:
    """This host's metrics: the launcher's, and its workers' when calls run in workers."""
    await _webhook_backlog(request)
    body = request.app.state.metrics.render()
    workers = getattr(request.app.state.runner, "live_workers", None)
    if workers is not None:  # calls run in worker processes: add their metrics
        from launcher.pooled_metrics import merge, scrape

        body = merge(body, await scrape(workers()))
    return body
