"""Daily REST double: ``/v1/rooms`` and ``/v1/meeting-tokens``."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from aiohttp import web

from simulators.doubles.auth import bearer


def _room_url(request: web.Request, name: str) -> str:
    """A room URL on the doubles' own loopback address.

    A bot that dials it never leaves 127.0.0.1 (a made-up public domain would send a DNS query
    off the machine).
    """
    return f"http://{request.host}/{name}"


def _auth_error(request: web.Request) -> web.Response | None:
    state = request.app["state"]
    state.count("daily", "requests")
    if bearer(request) == state.creds.daily_key:
        return None
    state.count("daily", "auth_failures")
    return web.json_response(
        {"error": "authentication-error", "info": "Invalid or missing API key"}, status=401
    )


def _not_found(name: str) -> web.Response:
    return web.json_response({"error": "not-found", "info": f"room {name} not found"}, status=404)


async def create_room(request: web.Request) -> web.Response:
    """``POST /v1/rooms``."""
    if (error := _auth_error(request)) is not None:
        return error
    rooms = request.app["state"].daily_rooms
    body: dict[str, Any] = await request.json() if request.can_read_body else {}
    name = body.get("name") or secrets.token_urlsafe(15)[:20]
    if name in rooms:
        return web.json_response(
            {"error": "invalid-request-error", "info": f"a room named {name} already exists"},
            status=400,
        )
    room = {
        "id": str(uuid.uuid4()),
        "name": name,
        "api_created": True,
        "privacy": body.get("privacy", "public"),
        "url": _room_url(request, name),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "config": body.get("properties") or {},
    }
    rooms[name] = room
    return web.json_response(room)


async def list_rooms(request: web.Request) -> web.Response:
    """``GET /v1/rooms``."""
    if (error := _auth_error(request)) is not None:
        return error
    data = list(request.app["state"].daily_rooms.values())
    return web.json_response({"total_count": len(data), "data": data})


async def get_room(request: web.Request) -> web.Response:
    """``GET /v1/rooms/{name}``."""
    if (error := _auth_error(request)) is not None:
        return error
    name = request.match_info["name"]
    room = request.app["state"].daily_rooms.get(name)
    return web.json_response(room) if room else _not_found(name)


async def delete_room(request: web.Request) -> web.Response:
    """``DELETE /v1/rooms/{name}``."""
    if (error := _auth_error(request)) is not None:
        return error
    name = request.match_info["name"]
    if request.app["state"].daily_rooms.pop(name, None) is None:
        return _not_found(name)
    return web.json_response({"deleted": True, "name": name})


async def meeting_token(request: web.Request) -> web.Response:
    """``POST /v1/meeting-tokens``: a signed JWT carrying the properties (each one recorded)."""
    if (error := _auth_error(request)) is not None:
        return error
    state = request.app["state"]
    props = (await request.json()).get("properties") or {}
    room = props.get("room_name")
    if room and room not in state.daily_rooms:
        return web.json_response(
            {"error": "invalid-request-error", "info": f"room {room} not found"}, status=400
        )
    claims = {"r": room, "o": bool(props.get("is_owner")), "d": "doubles", "iat": int(time.time())}
    if props.get("exp"):
        claims["exp"] = int(props["exp"])
    token = jwt.encode(claims, state.creds.daily_key, algorithm="HS256")
    state.daily_tokens.append(
        {
            "room": room,
            "is_owner": claims["o"],
            "user_id": props.get("user_id"),
            "user_name": props.get("user_name"),
            "at": time.time(),
        }
    )
    return web.json_response({"token": token})


def add_routes(app: web.Application) -> None:
    """Register the Daily routes."""
    app.router.add_post("/v1/rooms", create_room)
    app.router.add_get("/v1/rooms", list_rooms)
    app.router.add_get("/v1/rooms/{name}", get_room)
    app.router.add_delete("/v1/rooms/{name}", delete_room)
    app.router.add_post("/v1/meeting-tokens", meeting_token)
