"""A room call whose host died is re-joined by another host (``POST /fleet/rooms/rejoin``).

``POST /fleet/rooms/rejoin``: the fleet asks this host to take over a LiveKit room call whose
  host died (``launcher.call_rescue``). The persona, tenant, user and metadata come from the
  stored call row; the bot joins the same room and carries on from the stored turns.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from loguru import logger
from pydantic import BaseModel, Field

from assembly.call import CALL_ID
from launcher.admission import persona_or_404
from launcher.auth import require_api_key
from launcher.readiness import require_ready
from launcher.rooms_routes import livekit_or_503, start_livekit_bot

router = APIRouter(dependencies=[Depends(require_api_key)])

ROW_ONLY = ("host", "hosts", "provider_call_id")  # row metadata that is not the caller's


class Rejoin(BaseModel):
    """``POST /fleet/rooms/rejoin`` body."""

    call_id: str = Field(pattern=CALL_ID.pattern)
    room: str = Field(min_length=1, max_length=128)
    resumed_from: str = Field(min_length=1, max_length=128)


@router.post("/fleet/rooms/rejoin", status_code=202)
async def rejoin_room(body: Rejoin, request: Request) -> dict[str, Any]:
    """Take over a LiveKit room call whose host died: join the same room, carry on."""
    app = request.app
    row = await app.state.storage.get_call(body.call_id)
    if row is None or row.room != body.room:
        raise HTTPException(404, f"no stored call {body.call_id!r} in room {body.room!r}")
    persona = persona_or_404(row.persona)
    require_ready(app, persona)
    metadata = {k: v for k, v in row.metadata.items() if k not in ROW_ONLY}
    bot_body = {
        "call_id": row.id,
        "tenant": row.tenant,
        "metadata": {**metadata, "resumed_from": body.resumed_from},
        **({"user_id": row.caller_key} if row.caller_key else {}),
    }
    rooms = livekit_or_503(app)
    active = await start_livekit_bot(app, rooms, persona, body.room, bot_body)
    logger.warning(f"[{row.id}] fleet: re-joined room {body.room} after {body.resumed_from} died")
    return {"call_id": active.call_id, "room": body.room, "status": "rejoining"}
