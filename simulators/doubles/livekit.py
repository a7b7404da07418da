"""LiveKit RoomService Twirp double: ``POST /twirp/livekit.RoomService/{method}``."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.api import TokenVerifier
from livekit.protocol import models, room, sip
from loguru import logger

from simulators.doubles.auth import bearer
from simulators.doubles.config import DoublesState


def twirp_error(code: str, msg: str, status: int) -> web.Response:
    """A Twirp JSON error body."""
    return web.json_response({"code": code, "msg": msg, "meta": {}}, status=status)


def _create(state: DoublesState, req: room.CreateRoomRequest) -> Message:
    if not req.name:
        raise ValueError("room name is required")
    existing = state.livekit_rooms.get(req.name)
    if existing is not None:
        return existing
    now = time.time()
    created = models.Room(
        sid="RM_" + secrets.token_urlsafe(9)[:12],
        name=req.name,
        empty_timeout=req.empty_timeout or 300,
        departure_timeout=req.departure_timeout or 20,
        max_participants=req.max_participants,
        creation_time=int(now),
        creation_time_ms=int(now * 1000),
        metadata=req.metadata,
        turn_password=secrets.token_hex(8),
    )
    state.livekit_rooms[req.name] = created
    return created


def _list(state: DoublesState, req: room.ListRoomsRequest) -> Message:
    names = set(req.names)
    rooms = [r for n, r in state.livekit_rooms.items() if not names or n in names]
    return room.ListRoomsResponse(rooms=rooms)


def _delete(state: DoublesState, req: room.DeleteRoomRequest) -> Message:
    if state.livekit_rooms.pop(req.room, None) is None:
        raise LookupError(f"room {req.room} not found")
    return room.DeleteRoomResponse()


METHODS: dict[str, tuple[type[Message], Callable[[DoublesState, Any], Message], str]] = {
    "CreateRoom": (room.CreateRoomRequest, _create, "room_create"),
    "ListRooms": (room.ListRoomsRequest, _list, "room_list"),
    "DeleteRoom": (room.DeleteRoomRequest, _delete, "room_create"),
}


async def room_service(request: web.Request) -> web.Response:
    """Dispatch a RoomService Twirp call (protobuf or JSON)."""
    state = request.app["state"]
    method = request.match_info["method"]
    state.count("livekit", "requests")
    if method not in METHODS:
        return twirp_error("bad_route", f"no handler for path {request.path}", 404)
    req_cls, handler, grant = METHODS[method]
    token = bearer(request)
    if not token:
        state.count("livekit", "auth_failures")
        return twirp_error("unauthenticated", "no authorization header", 401)
    try:
        claims = TokenVerifier(state.creds.livekit_key, state.creds.livekit_secret).verify(token)
    except Exception as exc:  # noqa: BLE001 - any JWT failure is unauthenticated
        state.count("livekit", "auth_failures")
        logger.debug(f"livekit: token rejected: {exc}")
        return twirp_error("unauthenticated", "invalid token: " + type(exc).__name__, 401)
    if not getattr(claims.video, grant, False):
        return twirp_error("permission_denied", f"missing {grant} grant", 403)
    body = await request.read()
    is_json = request.content_type == "application/json"
    try:
        req = json_format.Parse(body or b"{}", req_cls()) if is_json else req_cls.FromString(body)
    except (DecodeError, json_format.ParseError) as exc:
        return twirp_error("malformed", f"could not decode request: {exc}", 400)
    try:
        resp = handler(state, req)
    except ValueError as exc:
        return twirp_error("invalid_argument", str(exc), 400)
    except LookupError as exc:
        return twirp_error("not_found", str(exc), 404)
    if is_json:
        return web.Response(text=json_format.MessageToJson(resp), content_type="application/json")
    return web.Response(body=resp.SerializeToString(), content_type="application/protobuf")


def rooms_snapshot(state: DoublesState) -> list[dict[str, Any]]:
    """Rooms as JSON-friendly dicts for the control API."""
    return [
        json_format.MessageToDict(r, preserving_proto_field_name=True)
        for r in state.livekit_rooms.values()
    ]


async def signal(request: web.Request) -> web.Response:
    """A client joining a room (``/rtc`` signal websocket, or ``/rtc/validate``).

    There is no media server here: the join is recorded (who, which room, with what grants)
    and refused the way an unreachable SFU would be, so tests can check what a bot presented.
    """
    state = request.app["state"]
    token = request.query.get("access_token") or bearer(request) or ""
    query = {k: v for k, v in request.query.items() if k != "access_token"}
    entry: dict[str, Any] = {
        "path": request.path,
        "query": query,
        "valid": False,
        "at": time.time(),  # wall clock: benches compare it with their room request
    }
    try:
        claims = TokenVerifier(state.creds.livekit_key, state.creds.livekit_secret).verify(token)
        entry.update(
            valid=True,
            identity=claims.identity,
            name=claims.name,
            room=claims.video.room,
            room_join=claims.video.room_join,
            metadata=claims.metadata,
        )
    except Exception as exc:  # noqa: BLE001 - record why the token failed
        entry["error"] = type(exc).__name__
    state.livekit_joins.append(entry)
    state.count("livekit", "joins")
    return web.Response(status=404, text="no media server in the doubles")


async def transfer_sip_participant(request: web.Request) -> web.Response:
    """``POST /twirp/livekit.SIP/TransferSIPParticipant``: a SIP REFER of a room's caller.

    Needs a token with ``roomAdmin`` for the room and the SIP ``call`` grant, as LiveKit does.
    The transfer is recorded and answered as successful.
    """
    state = request.app["state"]
    state.count("livekit", "requests")
    try:
        claims = TokenVerifier(state.creds.livekit_key, state.creds.livekit_secret).verify(
            bearer(request) or ""
        )
    except Exception:  # noqa: BLE001 - any JWT failure is unauthenticated
        state.count("livekit", "auth_failures")
        return twirp_error("unauthenticated", "invalid token", 401)
    body = await request.read()
    is_json = request.content_type == "application/json"
    try:
        req = (json_format.Parse(body or b"{}", sip.TransferSIPParticipantRequest()) if is_json
               else sip.TransferSIPParticipantRequest.FromString(body))  # fmt: skip
    except (DecodeError, json_format.ParseError) as exc:
        return twirp_error("malformed", f"could not decode request: {exc}", 400)
    sip_grants = getattr(claims, "sip", None)
    if not (claims.video and claims.video.room_admin and claims.video.room == req.room_name):
        return twirp_error("permission_denied", "needs roomAdmin for the room", 403)
    if not (sip_grants and sip_grants.call):
        return twirp_error("permission_denied", "needs the SIP call grant", 403)
    if not req.participant_identity or not req.transfer_to:
        return twirp_error("invalid_argument", "participant_identity and transfer_to needed", 400)
    state.livekit_sip_transfers.append(
        {"room": req.room_name, "identity": req.participant_identity,
         "transfer_to": req.transfer_to, "play_dialtone": req.play_dialtone}
    )  # fmt: skip
    resp = sip.TransferSIPParticipantResponse(
        transfer_id="TR_" + secrets.token_hex(6), status=sip.STS_TRANSFER_SUCCESSFUL
    )
    if is_json:
        return web.Response(text=json_format.MessageToJson(resp), content_type="application/json")
    return web.Response(body=resp.SerializeToString(), content_type="application/protobuf")
