"""Switchboard launcher: FastAPI app that starts a bot per call and serves the browser page.

Run ``make run`` (or ``python server.py``) and open http://localhost:7860.
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: smart-turn CPU halves

from collections.abc import AsyncIterator  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from loguru import logger  # noqa: E402

from assembly.warmup import warm_call_path  # noqa: E402
from bots import PERSONAS  # noqa: E402
from config import Settings, get_settings  # noqa: E402
from config.logging import configure_logging  # noqa: E402
from launcher import (  # noqa: E402
    app_routes,
    calls_routes,
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
from launcher.auth import check_production_secrets  # noqa: E402
from launcher.client_limits import ClientLimits  # noqa: E402
from launcher.front import front_protocol  # noqa: E402
from launcher.media_tokens import MediaTokens  # noqa: E402
from launcher.metrics import LauncherMetrics  # noqa: E402
from launcher.readiness import check_personas  # noqa: E402
from launcher.serve import DrainingServer  # noqa: E402
from postcall.background import wait_for_background  # noqa: E402
from providers import preload as preload_providers  # noqa: E402
from runner import CallRunner, InProcessRunner  # noqa: E402
from runner.plugins import default_plugins  # noqa: E402
from runner.pool import WorkerPoolRunner  # noqa: E402
from storage import open_storage  # noqa: E402
from transports import preload as preload_transports  # noqa: E402
from turntaking.models import preload as preload_models  # noqa: E402
from webhooks.delivery import DeliveryWorker  # noqa: E402


def create_app(settings: Settings | None = None, runner: CallRunner | None = None) -> FastAPI:
    """Build the launcher app.

    Args:
        settings: Process settings; read from the environment when omitted.
        runner: Where calls run; an in-process runner by default.

    Returns:
        The FastAPI application.
    """
    settings = settings or get_settings()
    check_production_secrets(settings)
    if settings.ice_loopback_only:
        webrtc_routes.loopback_only_ice()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pooled = isinstance(app.state.runner, WorkerPoolRunner)
        await app.state.storage.open()  # migrates once, before any worker opens the file
        await check_personas(app, settings)
        if not pooled:  # models and imports are paid once, at start-up, never per call
            preload_models()
            preload_providers()
            preload_transports()
            warm_call_path(settings, PERSONAS.values())
        else:
            await app.state.runner.open()  # workers load them before taking calls
        delivery = DeliveryWorker(app.state.storage, settings)  # webhook outbox, every process
        delivery.start()
        background = [asyncio.create_task(app.state.metrics.watch_loop())]
        server = getattr(app.state, "server", None)
        if server is not None and not pooled:
            background.append(
                asyncio.create_task(server.recycle_when_due(settings.worker_max_calls))
            )
        public = settings.public_url.rstrip("/")
        also = f" (public URL {public})" if public != settings.listen_url else ""
        logger.info(f"Switchboard launcher ready on {settings.listen_url}{also}")
        yield
        for task in background:
            task.cancel()
        await app.state.runner.shutdown()
        await wait_for_background(timeout=15)  # post-call jobs; unfinished ones are logged
        await delivery.stop()
        await app.state.storage.close()

    app = FastAPI(title="Switchboard", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = LauncherMetrics()
    app.state.storage = open_storage(settings)
    plugins = default_plugins(settings, app.state.metrics, app.state.storage)
    if runner is None and settings.process_model != "inprocess":
        runner = WorkerPoolRunner(settings, metrics=app.state.metrics, cpus=os.cpu_count())
    if isinstance(runner, WorkerPoolRunner):  # the workers check the tokens this app issues
        app.state.media_tokens = MediaTokens(
            runner.media_secret.encode(), settings.media_token_ttl_secs
        )
    app.state.runner = runner or InProcessRunner(
        settings,
        plugins=plugins,
        metrics=app.state.metrics,
        resources={"storage": app.state.storage, "metrics": app.state.metrics},
    )
    app.state.webrtc = webrtc_routes.webrtc_handler()
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
        metrics,
        twilio_routes,
        webrtc_routes,
        sessions,
        rooms_routes,
        livekit_webhook,
        webhook_routes,
    )
    for module in routers:
        app.include_router(module.router)
    return app


def main() -> None:
    """Serve the launcher on ``HOST``:``PORT``."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    runner = app.state.runner
    # Calls in worker processes: media streams are handed to them, never relayed.
    http = front_protocol(runner.hand_over) if isinstance(runner, WorkerPoolRunner) else "auto"
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="info", http=http
    )
    app.state.server = DrainingServer(config, app.state.runner, settings.drain_timeout_secs)
    app.state.server.run()


if __name__ == "__main__":
    main()
