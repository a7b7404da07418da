"""Switchboard launcher: FastAPI app that starts a bot per call and serves the browser page.

Run ``make run`` (or ``python server.py``) and open http://localhost:7860.
"""

from __future__ import annotations

import config.blas  # noqa: F401  (first: one BLAS thread before numpy loads)

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from loguru import logger

from config import Settings, get_settings
from config.logging import configure_logging
from fleet.live_calls import LiveCalls
from fleet.peers import fleet_peers
from fleet.setup import fleet_from_settings
from fleet.tokens import fleet_token_uses
from launcher import (
    agents_routes,
    app_routes,
    calls_routes,
    carrier_routes,
    console_routes,
    fleet_rooms,
    fleet_routes,
    livekit_webhook,
    metrics,
    middleware,
    outbound,
    rooms_routes,
    sessions,
    twilio_routes,
    webhook_routes,
    webrtc_routes,
)
from launcher.auth import check_production_secrets
from launcher.call_rescue import CallRescuer
from launcher.client_limits import ClientLimits
from launcher.front import front_protocol
from launcher.media_tokens import MediaTokens, media_secret
from launcher.metrics import LauncherMetrics
from launcher.readiness import check_personas
from launcher.serve import DrainingServer
from postcall.lost import LostCalls, sweep_orphaned_calls
from runner import CallRunner
from runner.cpus import usable_cpus
from runner.pool import WorkerPoolRunner
from runner.serving import local_runner, serving_calls
from storage import open_storage
from webhooks.delivery import DeliveryWorker


def create_app(settings: Settings | None = None, runner: CallRunner | None = None) -> FastAPI:
    """Build the launcher app.

    Args:
        settings: Process settings; read from the environment when omitted.
        runner: Where calls run; by default call-host worker processes (``PROCESS_MODEL``
            ``workers`` or ``process_per_call``), in this process only with ``inprocess``.

    Returns:
        The FastAPI application.
    """
    settings = settings or get_settings()
    check_production_secrets(settings)
    if settings.ice_loopback_only:
        webrtc_routes.loopback_only_ice()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        delivery = DeliveryWorker(state.storage, settings)  # the webhook outbox
        async with serving_calls(state.runner, state.storage, state.metrics, [delivery]):
            await sweep_orphaned_calls(state.storage, settings)  # before any call is taken
            state.runner.add_listener(LostCalls(state.storage, settings))
            await check_personas(app, settings)
            rescuer = None
            if fleet is not None:
                await fleet[1].start()
                # Any launcher may move a dead host's calls (one claimant per call).
                live = LiveCalls(fleet[0].client)
                rescuer = CallRescuer(app, fleet[0], live, settings.fleet_heartbeat_secs / 2)
                rescuer.start()
            server = getattr(state, "server", None)
            recycle = None
            if server is not None and state.runner.recycle_after is not None:
                recycle = asyncio.create_task(server.recycle_when_due(state.runner.recycle_after))
            public = settings.public_url.rstrip("/")
            also = f" (public URL {public})" if public != settings.listen_url else ""
            logger.info(f"Switchboard launcher ready on {settings.listen_url}{also}")
            yield
            if recycle is not None:
                recycle.cancel()
            if rescuer is not None:
                await rescuer.stop()
            if fleet is not None:
                await fleet[1].leave()
                await state.peers.close()

    # No FastAPI request spans (it traces every request once a tracer provider is set): call
    # traces start at Pipecat's conversation span, and probes and scrapes stay out of them.
    app = FastAPI(title="Switchboard", lifespan=lifespan, telemetry={"tracing": False})
    app.state.settings = settings
    app.state.metrics = LauncherMetrics()
    app.state.storage = open_storage(settings)
    secret = media_secret(settings)  # one for the tokens issued here and checked by workers
    app.state.media_tokens = MediaTokens(secret.encode(), settings.media_token_ttl_secs)
    if runner is None and settings.process_model != "inprocess":
        runner = WorkerPoolRunner(
            settings, metrics=app.state.metrics, cpus=usable_cpus(), media_secret=secret
        )
    app.state.runner = runner or local_runner(settings, app.state.metrics, app.state.storage)
    fleet = fleet_from_settings(settings, app.state.runner)  # None without REDIS_URL
    app.state.fleet = fleet[0] if fleet is not None else None
    app.state.peers = fleet_peers(settings, app.state.fleet)  # the calls API and /metrics
    app.state.token_uses = fleet_token_uses(settings)
    app.state.client_limits = ClientLimits(
        settings.client_offers_per_minute,
        settings.client_max_calls,
        settings.client_webhooks_per_minute,
    )
    middleware.install(app, settings)
    routers = (
        app_routes,
        outbound,
        calls_routes,
        fleet_routes,
        fleet_rooms,
        metrics,
        twilio_routes,
        webrtc_routes,
        sessions,
        rooms_routes,
        livekit_webhook,
        webhook_routes,
        console_routes,
        agents_routes,
        carrier_routes,  # last: its /{carrier}/... paths must not shadow anyone's
    )
    for module in routers:
        app.include_router(module.router)
    return app


def main() -> None:
    """Serve the launcher on ``HOST``:``PORT``."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # Calls in worker processes: media streams are handed to them, never relayed.
    http = front_protocol(app.state.runner.hand_over)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="info", http=http
    )
    app.state.server = DrainingServer(config, app.state.runner, settings.drain_timeout_secs)
    app.state.server.run()


if __name__ == "__main__":
    main()
