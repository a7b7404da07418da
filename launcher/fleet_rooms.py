"""A room call whose host died is re-joined by another host (``POST /fleet/rooms/rejoin``).

``POST /fleet/rooms/rejoin``: the fleet asks this host to take over a LiveKit or Daily room call
  whose host died (``launcher.call_rescue``). The persona, tenant, user and metadata come from
  the stored call row; the bot joins the same room with a token of its own (LiveKit: signed
  here; Daily: the room's URL and an owner token from Daily's REST API) and carries on from the
  stored turns.
"""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from loguru import logger
from pydantic import BaseModel, Field

from assembly.call import CALL_ID
from assembly.persona import Persona
from launcher.admission import persona_or_404
from launcher.auth import require_api_key
from launcher.readiness import require_ready
from launcher.rooms_routes import daily_or_503, livekit_or_503, start_daily_bot, start_livekit_bot
from runner.base import ActiveCall
from transports.kinds import TransportKind

router = APIRouter(dependencies=[Depends(require_api_key)])

ROW_ONLY = ("host", "hosts", "provider_call_id")  # row metadata that is not the caller's


class Rejoin(BaseModel):
    """``POST /fleet/rooms/rejoin`` body (``transport``: the room's; LiveKit when absent)."""

    call_id: str = Field(pattern=CALL_ID.pattern)
    room: str = Field(min_length=1, max_length=128)
    resumed_from: str = Field(min_length=1, max_length=128)
    transport: Literal["livekit", "daily"] = "livekit"


@router.post("/fleet/rooms/rejoin", status_code=202)
async def rejoin_room(body: Rejoin, request: Request) -> dict[str, Any]:
    """Take over a room call whose host died: join the same room, carry on."""
    app = request.app
    row = await app.state.storage.get_call(body.call_id)
    if row is None or row.room != body.room or row.transport != body.transport:
        raise HTTPException(
            404, f"no stored {body.transport} call {body.call_id!r} in room {body.room!r}"
        )
    persona = persona_or_404(row.persona)
    require_ready(app, persona)
    metadata = {k: v for k, v in row.metadata.items() if k not in ROW_ONLY}
    bot_body = {
        "call_id": row.id,
        "tenant": row.tenant,
        "metadata": {**metadata, "resumed_from": body.resumed_from},
        **({"user_id": row.caller_key} if row.caller_key else {}),
    }
    active = await _join(app, body.transport, persona, body.room, bot_body)
    logger.warning(
        f"[{row.id}] fleet: re-joined {body.transport} room {body.room} after "
        f"{body.resumed_from} died"
    )
    return {"call_id": active.call_id, "room": body.room, "status": "rejoining"}


async def _join(
    app: FastAPI, transport: str, persona: Persona, room: str, body: dict[str, Any]
) -> ActiveCall:
    """Start the call's bot in its room again, with a new token from the room's provider."""
    if transport != TransportKind.DAILY:
        return await start_livekit_bot(app, livekit_or_503(app), persona, room, body)
    daily = daily_or_503(app)
    try:
        url, token = await daily.rejoin_room(room)
    except (RuntimeError, aiohttp.ClientError) as exc:
        logger.error(f"[{body['call_id']}] Daily would not let a bot back into room {room}: {exc}")
        raise HTTPException(502, f"Daily refused the room: {exc}") from None
    return await start_daily_bot(app, persona, room, url, token, body)
