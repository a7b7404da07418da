"""The page's LiveKit mode: a room and token for a browser, and the scripts the page loads.

``POST /api/rooms`` is ``POST /rooms`` made safe for a browser. ``/rooms`` needs the API key,
which must never reach a page; this route instead takes the same session token as
``/api/offer`` (``POST /sessions``, made by the operator's backend) and is refused without one in
production, as anonymous offers are. The caller's identity, tenant and metadata come from the
token. The page may add only the persona's declared metadata fields (the coach's role, scenario
and goal) that the token leaves open, as short strings. The answer holds a token for that one
room, short-lived and without admin grants: the LiveKit API key stays in the launcher.

In a fleet (``REDIS_URL``) the call is placed as ``/rooms`` places it (``launcher.room_placement``):
the host with the most free slots runs the bot. When that is another host, the page's request goes
to that host's ``/api/rooms`` (with the fleet's API key and the reserved call id), which checks the
same session token (every host shares ``MEDIA_TOKEN_SECRET``) and answers the page's room and
token; a full fleet is a 429.

``GET /static/{name}`` serves the page's scripts (LiveKit mode, client tools) and the vendored
``livekit-client`` (``static/vendor/README.md``): the page needs no CDN.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from assembly.call import new_call_id
from assembly.persona import Persona
from launcher.admission import persona_or_404
from launcher.client_limits import ClientLimits, check_rate
from launcher.metrics import count_refusal
from launcher.readiness import require_ready
from launcher.room_placement import forwarded_by_host, placed_elsewhere
from launcher.rooms_routes import check_admission, livekit_room
from launcher.sessions import call_identity

router = APIRouter()

STATIC = Path(__file__).parent / "static"
ASSETS = {  # what the page may load, and nothing else from the directory
    "livekit.js": "text/javascript",
    "client_tools.js": "text/javascript",
    "vendor/livekit-client.umd.js": "text/javascript",
}
MAX_FIELD_CHARS = 500


class BrowserRoomBody(BaseModel):
    """``POST /api/rooms`` body, as the page sends it."""

    model_config = ConfigDict(extra="forbid")

    persona: str | None = Field(default=None, min_length=1, max_length=64)
    session: str | None = Field(default=None, max_length=16_384)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16)


def call_metadata(persona: Persona, asked: dict[str, str], signed: Any) -> dict[str, Any]:
    """The call's metadata: the session's, plus the persona's fields the page filled.

    Raises:
        HTTPException: 422 for a field the persona does not read or an over-long value.
    """
    unknown = sorted(set(asked) - set(persona.metadata_schema))
    if unknown:
        raise HTTPException(422, f"{persona.name} reads no metadata field {', '.join(unknown)}")
    long = sorted(k for k, v in asked.items() if len(v) > MAX_FIELD_CHARS)
    if long:
        raise HTTPException(422, f"at most {MAX_FIELD_CHARS} characters: {', '.join(long)}")
    page = {k: v.strip() for k, v in asked.items() if v.strip()}
    return {**page, **(signed if isinstance(signed, dict) else {})}  # the session's win


async def open_room(
    request: Request,
    persona: Persona,
    identity: dict[str, Any],
    metadata: dict[str, Any],
    call_id: str,
) -> dict[str, Any]:
    """Make the room, the caller's token and the bot, as ``POST /rooms`` does."""
    started = time.perf_counter()
    body = {"call_id": call_id, "metadata": metadata, "tenant": identity.get("tenant")}
    body.update({k: identity[k] for k in ("user_id", "user_name") if identity.get(k)})
    answer = await livekit_room(
        request.app,
        persona,
        call_id,
        metadata,
        identity.get("user_id"),
        identity.get("user_name"),
        {k: v for k, v in body.items() if v is not None},
    )
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info(f"[{call_id}] browser room {answer['room']} ready: {persona.name} bot starting")
    return {**answer, "start_latency_ms": latency_ms}


@router.post("/api/rooms", response_model=None)
async def browser_room(body: BrowserRoomBody, request: Request) -> dict[str, Any] | JSONResponse:
    """A LiveKit room, a token for this browser, and the persona's bot in the room.

    In a fleet the bot runs on the host with the most free slots; the answer is the same.

    Returns:
        ``{call_id, room, url, token, transport, persona, start_latency_ms}``.

    Raises:
        HTTPException: 401 bad session token, 403 no session where one is needed (production)
            or another persona than the session's, 404 unknown persona, 422 metadata the
            persona does not read, 429 over the client's rate or the launcher (the fleet) is
            full, 503 LiveKit is not configured or the persona cannot run, 502 LiveKit refused
            or the fleet's chosen host could not be reached.
    """
    forwarded = await forwarded_by_host(request)  # the call id another host reserved here
    if forwarded is None:  # a forwarded request was counted there (its client here: that host)
        limits: ClientLimits = request.app.state.client_limits
        check_rate(limits.offers, request)
    identity = call_identity(request, {"persona": body.persona, "session": body.session})
    name = identity.get("persona") or request.app.state.settings.default_persona
    persona = persona_or_404(str(name))
    metadata = call_metadata(persona, body.metadata, identity.get("metadata"))
    try:
        require_ready(request.app, persona)
        call_id = forwarded or new_call_id()
        elsewhere = await placed_elsewhere(request, call_id, "/api/rooms")
        if elsewhere is not None:
            return elsewhere
        check_admission(request.app.state.runner)
        return await open_room(request, persona, identity, metadata, call_id)
    except HTTPException as exc:
        if exc.status_code in (429, 503):
            reason = "full" if exc.status_code == 429 else "not_ready"
            count_refusal(request.app, "livekit", reason)
        raise


@router.get("/static/{name:path}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """One of the page's scripts (a fixed list; no CDN)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(STATIC / name, media_type=media_type)
