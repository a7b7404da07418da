"""Rooms: ``POST /rooms`` makes a LiveKit (or Daily) room, the caller's token, and a bot in it.

LiveKit is the default: RoomService creates the room, the caller gets a short-lived room-scoped
token, and the bot joins with its own token and a unique identity. ``transport: "daily"`` does
the same through Daily's REST API when ``DAILY_API_KEY`` is set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from livekit import api
from loguru import logger
from pipecat.runner.types import DailyRunnerArguments, LiveKitRunnerArguments, RunnerArguments
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assembly.call import new_call_id
from assembly.persona import Persona
from launcher.admission import persona_or_404
from launcher.auth import require_api_key
from launcher.metrics import count_refusal
from launcher.readiness import require_ready
from launcher.room_placement import forwarded_call_id, placed_elsewhere
from providers.errors import MissingKeyError, ProviderError
from runner.base import ActiveCall, CallRefused, CallRunner
from transports.daily_rooms import DailyRooms
from transports.livekit_rooms import LiveKitRooms

router = APIRouter()

_MAX_METADATA_CHARS = 4096


class RoomUser(BaseModel):
    """Who will join the room."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=128)


class RoomRequest(BaseModel):
    """``POST /rooms`` body."""

    model_config = ConfigDict(extra="forbid")

    persona: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any] = Field(default_factory=dict)
    transport: Literal["livekit", "daily"] = "livekit"
    user: RoomUser = Field(default_factory=RoomUser)

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > _MAX_METADATA_CHARS:
            raise ValueError(f"metadata must be at most {_MAX_METADATA_CHARS} characters of JSON")
        return value


@dataclass
class RoomCalls:
    """Which call serves which room (LiveKit or Daily), so that a room never gets a second bot."""

    calls: dict[str, str] = field(default_factory=dict)
    starting: set[str] = field(default_factory=set)

    def current(self, room: str, runner: CallRunner) -> str | None:
        """The call serving ``room`` (starting or running); forgets calls that have ended."""
        for name, call_id in list(self.calls.items()):
            active = runner.get(call_id)
            if call_id not in self.starting and (active is None or active.ended_at is not None):
                del self.calls[name]
        return self.calls.get(room)

    @contextmanager
    def starting_call(self, room: str, call_id: str) -> Iterator[None]:
        """Hold ``room`` for ``call_id`` while its bot starts; release it if the start fails."""
        self.calls[room] = call_id
        self.starting.add(call_id)
        try:
            yield
        except BaseException:
            self.calls.pop(room, None)
            raise
        finally:
            self.starting.discard(call_id)

    def forget(self, room: str) -> str | None:
        """Drop the room; returns the call that served it, if any."""
        return self.calls.pop(room, None)


def room_calls(app: FastAPI) -> RoomCalls:
    """The app's room → call map (created on first use)."""
    calls = getattr(app.state, "room_calls", None)
    if calls is None:
        calls = app.state.room_calls = RoomCalls()
    return calls


def too_busy(refused: CallRefused) -> HTTPException:
    """429 with ``Retry-After`` for a refused call."""
    return HTTPException(
        status_code=429, detail=str(refused), headers={"Retry-After": str(refused.retry_after)}
    )


def check_admission(runner: CallRunner) -> None:
    """Refuse early (before any room is made) when the runner is full or draining."""
    refused = runner.admission()
    if refused is not None:
        raise too_busy(refused)


def livekit_or_503(app: FastAPI) -> LiveKitRooms:
    """The LiveKit deployment, or a 503 naming the missing variable."""
    try:
        return LiveKitRooms.from_settings(app.state.settings)
    except MissingKeyError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None


async def start_bot(app: FastAPI, persona: Persona, args: RunnerArguments) -> ActiveCall:
    """Start the persona's bot through the runner, mapping refusals to HTTP errors."""
    try:
        return await app.state.runner.start(persona, args)
    except CallRefused as exc:
        raise too_busy(exc) from None
    except ProviderError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None


async def start_livekit_bot(
    app: FastAPI, rooms: LiveKitRooms, persona: Persona, room: str, body: dict[str, Any]
) -> ActiveCall:
    """Start a bot in a LiveKit room with a fresh token and a unique identity."""
    call_id = body["call_id"]
    with room_calls(app).starting_call(room, call_id):
        args = LiveKitRunnerArguments(
            room_name=room, url=rooms.url, token=rooms.bot_token(room, call_id), body=body
        )
        return await start_bot(app, persona, args)


def _bot_body(call_id: str, req: RoomRequest) -> dict[str, Any]:
    body = {"call_id": call_id, "metadata": req.metadata}
    body.update({k: v for k, v in (("user_id", req.user.id), ("user_name", req.user.name)) if v})
    return body


def _ready(started: float, req: RoomRequest, call_id: str, room: str) -> float:
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info(
        f"[{call_id}] room {room} ({req.transport}) ready: {req.persona} bot built and "
        f"starting {latency_ms:.0f} ms after the room request"
    )
    return latency_ms


async def _livekit_room(
    app: FastAPI, req: RoomRequest, persona: Persona, call_id: str, started: float
) -> dict[str, Any]:
    answer = await livekit_room(
        app, persona, call_id, req.metadata, req.user.id, req.user.name, _bot_body(call_id, req)
    )
    return {**answer, "start_latency_ms": _ready(started, req, call_id, answer["room"])}


async def livekit_room(
    app: FastAPI,
    persona: Persona,
    call_id: str,
    metadata: dict[str, Any],
    user_id: str | None,
    user_name: str | None,
    bot_body: dict[str, Any],
) -> dict[str, Any]:
    """Make a LiveKit room, the caller's token, and start the persona's bot in it.

    Returns:
        ``{call_id, room, url, token, transport, persona}``.

    Raises:
        HTTPException: 503 LiveKit not configured, 502 LiveKit refused or is unreachable,
            429 full (the room is deleted again when the bot cannot start).
    """
    rooms = livekit_or_503(app)
    shared = {"persona": persona.name, "call_id": call_id, "metadata": metadata}
    try:
        room = await rooms.create_room(call_id, metadata=shared)
    except api.TwirpError as exc:
        logger.error(f"[{call_id}] LiveKit CreateRoom failed: {exc.code} {exc.message}")
        raise HTTPException(502, f"LiveKit refused the room: {exc.code} {exc.message}") from None
    except aiohttp.ClientError as exc:
        logger.error(f"[{call_id}] LiveKit unreachable: {exc}")
        raise HTTPException(502, f"LiveKit is unreachable: {type(exc).__name__}") from None
    token = rooms.user_token(
        room, identity=user_id or f"user-{call_id}", name=user_name or "Caller", metadata=shared
    )
    try:
        active = await start_livekit_bot(app, rooms, persona, room, bot_body)
    except BaseException:
        await _quietly(rooms.delete_room(room), call_id)
        raise
    return {
        "call_id": active.call_id,
        "room": room,
        "url": rooms.url,
        "token": token,
        "transport": "livekit",
        "persona": persona.name,
    }


def daily_or_503(app: FastAPI) -> DailyRooms:
    """The Daily account, or a 503 naming the missing variable."""
    try:
        return DailyRooms.from_settings(app.state.settings)
    except MissingKeyError as exc:
        raise HTTPException(status_code=503, detail=f"{exc}; Daily rooms are off") from None


async def start_daily_bot(
    app: FastAPI, persona: Persona, room: str, url: str, token: str, body: dict[str, Any]
) -> ActiveCall:
    """Start a bot in the Daily room ``room`` (at ``url``) with its owner token."""
    with room_calls(app).starting_call(room, body["call_id"]):
        args = DailyRunnerArguments(room_url=url, token=token, body=body)
        return await start_bot(app, persona, args)


async def _daily_room(
    app: FastAPI, req: RoomRequest, persona: Persona, call_id: str, started: float
) -> dict[str, Any]:
    daily = daily_or_503(app)
    try:
        room = await daily.open_room(
            call_id, user_id=req.user.id or f"user-{call_id}", user_name=req.user.name or "Caller"
        )
    except Exception as exc:  # DailyRESTHelper raises bare Exceptions carrying Daily's answer
        logger.error(f"[{call_id}] Daily room failed: {exc}")
        raise HTTPException(status_code=502, detail=f"Daily refused the room: {exc}") from None
    body = _bot_body(call_id, req)
    try:
        active = await start_daily_bot(app, persona, room.name, room.url, room.bot_token, body)
    except BaseException:
        await _quietly(daily.delete_room(room.name), call_id)
        raise
    latency = _ready(started, req, active.call_id, room.name)
    return {
        "call_id": active.call_id,
        "room": room.name,
        "url": room.url,
        "token": room.user_token,
        "transport": "daily",
        "persona": persona.name,
        "start_latency_ms": latency,
    }


async def _quietly(cleanup: Any, call_id: str) -> None:
    try:
        await cleanup
    except Exception as exc:  # best effort: the room expires on its own anyway
        logger.warning(f"[{call_id}] could not delete the room after a failed start: {exc}")


@router.post("/rooms", dependencies=[Depends(require_api_key)], response_model=None)
async def create_room(req: RoomRequest, request: Request) -> dict[str, Any] | JSONResponse:
    """Make a room, a token for the caller, and start the persona's bot in the room.

    Returns:
        ``{call_id, room, url, token, transport, persona, start_latency_ms}``.

    Raises:
        HTTPException: 404 unknown persona, 429 full or draining (``Retry-After``), 503 the
            transport is not configured, 502 the room provider refused.
    """
    started = time.perf_counter()
    persona = persona_or_404(req.persona)
    try:
        require_ready(request.app, persona)
        call_id = forwarded_call_id(request) or new_call_id()
        elsewhere = await placed_elsewhere(request, call_id, "/rooms")  # a fleet: maybe elsewhere
        if elsewhere is not None:
            return elsewhere
        check_admission(request.app.state.runner)
        build = _daily_room if req.transport == "daily" else _livekit_room
        return await build(request.app, req, persona, call_id, started)
    except HTTPException as exc:
        if exc.status_code in (429, 503):  # full or draining; not ready or not configured
            reason = "full" if exc.status_code == 429 else "not_ready"
            count_refusal(request.app, req.transport, reason)
        raise
