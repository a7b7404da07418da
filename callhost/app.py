"""The call host's app: the launcher's private routes, offers and handed-over media streams.

The launcher (the only public listener) decides admission and hands each call to a worker:
a Twilio media stream's connection itself (``launcher.front``: the media never passes through
the launcher), WebRTC offers and room calls over HTTP. The worker runs them with the in-process
runner, so every call still gets the same plugins, storage and limits, and reports each call's
start and end on its event stream (``callhost.host``). Run by ``python -m callhost``.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import Response, StreamingResponse
from pipecat.runner.types import (
    DailyRunnerArguments,
    LiveKitRunnerArguments,
)
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from bots import get_persona
from callhost.host import EventFeed, open_inbox
from calls.end_reason import EndReason
from config import Settings
from fleet.tokens import fleet_token_uses
from launcher import carrier_routes, webrtc_routes
from launcher.media_stream import serve_stream
from launcher.metrics import LauncherMetrics
from runner.base import CallRefused
from runner.inprocess import InProcessRunner
from runner.serving import local_runner, serving_calls
from runner.workers import SECRET_HEADER
from storage import open_storage


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
        reason = EndReason(str(data.get("reason") or EndReason.CANCELLED))
        ok = await request.app.state.runner.cancel(call_id, reason)
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
        state = app.state
        async with serving_calls(state.runner, state.storage, state.metrics):
            inbox = open_inbox(state.server, uds) if uds else None
            yield
            if inbox is not None:
                inbox.close()

    app = FastAPI(lifespan=lifespan, telemetry={"tracing": False})  # as server.py: no HTTP spans
    app.state.settings = settings
    app.state.metrics = LauncherMetrics()
    app.state.storage = open_storage(settings)
    app.state.runner = local_runner(settings, app.state.metrics, app.state.storage)
    app.state.events = EventFeed(app.state.runner)
    app.state.token_uses = fleet_token_uses(settings)
    if settings.ice_loopback_only:
        webrtc_routes.loopback_only_ice()
    app.include_router(_router(secret))
    app.include_router(
        webrtc_routes.internal_router, prefix="/internal", dependencies=[_auth(secret)]
    )

    @app.websocket("/twilio/media/{call_id}")
    async def twilio_media(websocket: WebSocket, call_id: str) -> None:
        await serve_stream(websocket, call_id)  # handed over by the launcher's front

    @app.websocket("/{carrier}/media/{call_id}")
    async def carrier_media(websocket: WebSocket, carrier: str, call_id: str) -> None:
        await carrier_routes.carrier_media(websocket, carrier, call_id)  # the other carriers

    return app
