"""LiveKit webhooks: a bot for each SIP caller, and the call ends when its room finishes.

LiveKit signs each webhook with a JWT (``Authorization``) made with our API key and secret,
carrying the sha256 of the raw body; anything else is refused with 401.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from livekit import api
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent
from loguru import logger

from assembly.call import new_call_id
from bots import UnknownPersonaError, get_persona
from calls.end_reason import EndReason
from config import Settings
from launcher.readiness import problems_of
from launcher.rooms_routes import check_admission, livekit_or_503, room_calls, start_livekit_bot
from transports.livekit_rooms import LiveKitRooms

router = APIRouter()


def verified_event(rooms: LiveKitRooms, raw: bytes, authorization: str | None) -> WebhookEvent:
    """The webhook event, once its signature and body hash check out.

    Raises:
        HTTPException: 401 on a missing or bad signature.
    """
    token = (authorization or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise HTTPException(status_code=401, detail="missing LiveKit webhook signature")
    receiver = api.WebhookReceiver(api.TokenVerifier(rooms.api_key, rooms.api_secret))
    try:
        return receiver.receive(raw.decode("utf-8"), token)
    except Exception as exc:  # any JWT, hash or parse failure means we cannot trust the event
        logger.warning(f"LiveKit webhook refused: {type(exc).__name__}")
        raise HTTPException(status_code=401, detail="invalid LiveKit webhook signature") from None


def _room_metadata(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def sip_persona(settings: Settings, room_meta: dict[str, Any], trunk_number: str) -> str:
    """Room metadata ``persona``, else the trunk number's persona, else the default."""
    return str(
        room_meta.get("persona")
        or settings.phone_personas.get(trunk_number)
        or settings.default_persona
    )


async def _participant_joined(
    request: Request, rooms: LiveKitRooms, event: WebhookEvent
) -> dict[str, Any]:
    participant, room = event.participant, event.room.name
    if participant.kind != models.ParticipantInfo.Kind.SIP:
        return {"status": "ignored", "reason": "not a SIP participant"}
    app = request.app
    existing = room_calls(app).current(room, app.state.runner)
    if existing is not None:
        return {"status": "already_running", "call_id": existing, "room": room}
    attributes = dict(participant.attributes)
    caller = attributes.get("sip.phoneNumber", "")
    trunk = attributes.get("sip.trunkPhoneNumber", "")
    meta = _room_metadata(event.room.metadata)
    name = sip_persona(app.state.settings, meta, trunk)
    try:
        persona = get_persona(name)
    except UnknownPersonaError as exc:
        logger.error(f"LiveKit SIP call in room {room} not answered: {exc}")
        return {"status": "ignored", "reason": str(exc)}
    if problems := problems_of(app, persona.name):
        logger.error(f"LiveKit SIP call in room {room} not answered: {'; '.join(problems)}")
        return {"status": "ignored", "reason": "; ".join(problems)}
    check_admission(app.state.runner)
    metadata = dict(meta["metadata"]) if isinstance(meta.get("metadata"), dict) else {}
    if attributes.get("sip.callID"):
        metadata["sip_call_id"] = attributes["sip.callID"]
    metadata["sip_participant_identity"] = participant.identity  # transfer_call needs it
    body = {
        "call_id": new_call_id(),
        "caller_number": caller,
        "called_number": trunk,
        "metadata": metadata,
    }
    active = await start_livekit_bot(app, rooms, persona, room, body)
    logger.info(f"[{active.call_id}] SIP caller in room {room}: {persona.name} bot starting")
    return {"status": "started", "call_id": active.call_id, "room": room}


async def _room_finished(request: Request, event: WebhookEvent) -> dict[str, Any]:
    room = event.room.name
    call_id = room_calls(request.app).forget(room)
    if call_id is None:
        return {"status": "ignored", "reason": "no call in this room"}
    ended = await request.app.state.runner.cancel(call_id, reason=EndReason.ROOM_FINISHED)
    logger.info(f"[{call_id}] room {room} finished: {'ending the call' if ended else 'no call'}")
    return {"status": "ending" if ended else "already_ended", "call_id": call_id, "room": room}


@router.post("/livekit/webhook")
async def livekit_webhook(request: Request) -> dict[str, Any]:
    """Handle one signed LiveKit webhook event.

    Returns:
        What was done: ``started``, ``already_running``, ``ending``, ``ignored``...

    Raises:
        HTTPException: 401 bad or missing signature, 503 LiveKit not configured, 429 full.
    """
    rooms = livekit_or_503(request.app)
    event = verified_event(rooms, await request.body(), request.headers.get("authorization"))
    if event.event == "participant_joined":
        return await _participant_joined(request, rooms, event)
    if event.event == "room_finished":
        return await _room_finished(request, event)
    return {"status": "ignored", "event": event.event}
