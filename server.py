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

from assembly.models import preload as preload_models  # noqa: E402
from config import Settings, get_settings  # noqa: E402
from config.logging import configure_logging  # noqa: E402
from launcher import app_routes, metrics, twilio_routes, webrtc_routes  # noqa: E402
from launcher.metrics import LauncherMetrics  # noqa: E402
from providers import preload as preload_providers  # noqa: E402
from runner import CallRunner, InProcessRunner  # noqa: E402
from transports import preload as preload_transports  # noqa: E402


def create_app(settings: Settings | None = None, runner: CallRunner | None = None) -> FastAPI:
    """Build the launcher app.

    Args:
        settings: Process settings; read from the environment when omitted.
        runner: Where calls run; an in-process runner by default.

    Returns:
        The FastAPI application.
    """
    settings = settings or get_settings()
    if settings.ice_loopback_only:
        webrtc_routes.loopback_only_ice()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        preload_models()  # models and imports are paid once, at start-up, never per call
        preload_providers()
        preload_transports()
        watcher = asyncio.create_task(app.state.metrics.watch_loop())
        logger.info(f"Switchboard launcher ready on {settings.public_url}")
        yield
        watcher.cancel()
        await app.state.runner.shutdown()

    app = FastAPI(title="Switchboard", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = LauncherMetrics()
    app.state.runner = runner or InProcessRunner(settings, metrics=app.state.metrics)
    app.state.webrtc = webrtc_routes.webrtc_handler()
    for module in (app_routes, metrics, twilio_routes, webrtc_routes):
        app.include_router(module.router)
    return app


def main() -> None:
    """Serve the launcher on ``HOST``:``PORT``."""
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
