"""A call-host worker process: runs calls handed over by the launcher, on a private Unix socket.

The launcher (the only public listener) decides admission and hands each call to a worker:
a Twilio media stream's connection itself (``launcher.front``: the media never passes through
the launcher), WebRTC offers and room calls over HTTP. The worker runs them with the in-process
runner, so every call still gets the same plugins, storage and limits, and reports each call's
start and end on its event stream. ``python -m launcher.worker_app --uds PATH`` (the launcher
starts it; the secret comes in ``SWITCHBOARD_WORKER_SECRET``).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from collections.abc import AsyncIterator  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402
from typing import Any  # noqa: E402

import uvicorn  # noqa: E402
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket  # noqa: E402
from fastapi.responses import Response, StreamingResponse  # noqa: E402
from pipecat.runner.types import (  # noqa: E402
    DailyRunnerArguments,
    LiveKitRunnerArguments,
)
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from assembly.warmup import warm_call_path  # noqa: E402
from bots import PERSONAS, get_persona  # noqa: E402
from config import Settings, get_settings  # noqa: E402
from config.logging import configure_logging  # noqa: E402
from launcher import webrtc_routes  # noqa: E402
from launcher.media_stream import serve_stream  # noqa: E402
from launcher.metrics import LauncherMetrics  # noqa: E402
from launcher.worker_host import EventFeed, open_inbox  # noqa: E402
from postcall.background import wait_for_background  # noqa: E402
from providers import preload as preload_providers  # noqa: E402
from runner.base import CallRefused  # noqa: E402
from runner.inprocess import InProcessRunner  # noqa: E402
from runner.plugins import default_plugins  # noqa: E402
from runner.workers import SECRET_ENV, SECRET_HEADER  # noqa: E402
from storage import open_storage  # noqa: E402
from transports import preload as preload_transports  # noqa: E402
from turntaking.models import preload as preload_models  # noqa: E402


def _check_secret(secret: str | None, expected: str) -> None:
    if not secret or not hmac.compare_digest(secret, expected):
        raise HTTPException(status_code=403, detail="not the launcher")


class RoomCall(BaseModel):
    """A room call the launcher hands over (LiveKit or Daily)."""

    persona: str
    kind: str  # "livekit" | "daily"
    url: str
    token: str
    room_name: str | None = None
    body: dict[str, Any] = {}


def _auth(expected: str) -> Any:
    async def _check(request: Request) -> None:
        _check_secret(request.headers.get(SECRET_HEADER), expected)

    return Depends(_check)


def _router(expected: str) -> APIRouter:
    router = APIRouter(prefix="/internal", dependencies=[_auth(expected)])

    @router.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        runner: InProcessRunner = request.app.state.runner
        return {"active": runner.active_count(), "started": runner.started_total}

    @router.get("/calls/{call_id}")
    async def details(call_id: str, request: Request) -> dict[str, Any]:
        active = request.app.state.runner.get(call_id)
        if active is None:
            raise HTTPException(status_code=404, detail=f"no call {call_id!r}")
        return active.details()

    @router.get("/events")
    async def events(request: Request) -> StreamingResponse:
        feed = request.app.state.events
        return StreamingResponse(feed.lines(), media_type="application/x-ndjson")

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @router.post("/calls")
    async def start_room_call(body: RoomCall, request: Request) -> dict[str, Any]:
        persona = get_persona(body.persona)
        if body.kind == "livekit":
            args: Any = LiveKitRunnerArguments(
                room_name=body.room_name or "", url=body.url, token=body.token
            )
        else:
            args = DailyRunnerArguments(room_url=body.url, token=body.token)
        args.body = body.body
        try:
            active = await request.app.state.runner.start(persona, args)
        except CallRefused as exc:
            raise HTTPException(status_code=429, detail=str(exc)) from None
        return active.summary()

    @router.post("/calls/{call_id}/end")
    async def end(call_id: str, request: Request) -> dict[str, bool]:
        data = await request.json()
        return {"ok": await request.app.state.runner.end(call_id, data.get("goodbye"))}

    @router.post("/calls/{call_id}/cancel")
    async def cancel(call_id: str, request: Request) -> dict[str, bool]:
        data = await request.json()
        ok = await request.app.state.runner.cancel(call_id, str(data.get("reason") or "cancelled"))
        return {"ok": ok}

    @router.post("/drain")
    async def drain(request: Request) -> dict[str, bool]:
        data = await request.json()
        runner: InProcessRunner = request.app.state.runner
        asyncio.create_task(runner.drain(float(data["timeout"]), str(data["goodbye"])))
        return {"ok": True}

    return router


def create_worker_app(settings: Settings, secret: str, uds: str | None = None) -> FastAPI:
    """The worker's private app: internal routes, WebRTC offers, handed-over media streams.

    Args:
        settings: Process settings.
        secret: The launcher's secret for the internal routes.
        uds: The worker's socket path; its handover inbox listens next to it (needs
            ``app.state.server``, the uvicorn server serving this app).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        preload_models()
        preload_providers()
        preload_transports()
        warm_call_path(settings, PERSONAS.values())
        await app.state.storage.open()
        lag = asyncio.create_task(app.state.metrics.watch_loop())
        inbox = open_inbox(app.state.server, uds) if uds else None
        yield
        if inbox is not None:
            inbox.close()
        lag.cancel()
        await app.state.runner.shutdown()
        await wait_for_background(timeout=15)  # post-call analysis of this worker's calls
        await app.state.storage.close()

    app = FastAPI(lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = LauncherMetrics()
    app.state.storage = open_storage(settings)
    app.state.runner = InProcessRunner(
        settings,
        plugins=default_plugins(settings, app.state.metrics, app.state.storage),
        metrics=app.state.metrics,
        resources={"storage": app.state.storage, "metrics": app.state.metrics},
    )
    app.state.events = EventFeed(app.state.runner)
    app.state.webrtc = webrtc_routes.webrtc_handler()
    if settings.ice_loopback_only:
        webrtc_routes.loopback_only_ice()
    app.include_router(_router(secret))
    app.include_router(
        webrtc_routes.internal_router, prefix="/internal", dependencies=[_auth(secret)]
    )

    @app.websocket("/twilio/media/{call_id}")
    async def twilio_media(websocket: WebSocket, call_id: str) -> None:
        await serve_stream(websocket, call_id)  # handed over by the launcher's front

    return app


def _die_with_launcher() -> None:
    """Ask Linux to SIGTERM this worker when the launcher dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the launcher still stops its workers on a clean exit
        pass


def main() -> None:
    """Serve the worker on the Unix socket the launcher chose."""
    _die_with_launcher()
    parser = argparse.ArgumentParser()
    parser.add_argument("--uds", required=True)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_worker_app(settings, os.environ[SECRET_ENV], args.uds)
    config = uvicorn.Config(app, uds=args.uds, log_level="warning", ws_per_message_deflate=False)
    app.state.server = uvicorn.Server(config)
    app.state.server.run()


if __name__ == "__main__":
    main()
