"""The calls console at ``/console``: a page and the read-only JSON it draws from.

Plain HTML, CSS and JS from ``launcher/static/console`` (no CDN, no build step, works offline).
In production every route here but the login needs the API key or the login cookie
(``launcher.console_auth``); a stranger asking for ``/console`` gets 401 and the sign-in form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from loguru import logger
from pydantic import BaseModel, Field

from launcher import calls_routes
from launcher.console_auth import (
    clear_session,
    console_access,
    is_open,
    key_matches,
    require_console,
    set_session,
)
from launcher.console_data import call_detail, list_calls, parse_when
from launcher.console_fleet import fleet_view
from storage.paths import UnsafePath, file_inside

router = APIRouter()
guarded = [Depends(require_console)]

STATIC = Path(__file__).parent / "static" / "console"
ASSETS = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "calls.js": "text/javascript",
    "call.js": "text/javascript",
    "fleet.js": "text/javascript",
}
NO_STORE = {"Cache-Control": "private, no-store"}


class LoginBody(BaseModel):
    """The management API key, typed into the sign-in form."""

    key: str = Field(min_length=1, max_length=512)


@router.get("/console", include_in_schema=False)
async def console_page(request: Request) -> Response:
    """The console, or (401) the sign-in form for a browser that has not signed in."""
    if await console_access(request):
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=NO_STORE)
    return FileResponse(
        STATIC / "login.html", status_code=401, media_type="text/html", headers=NO_STORE
    )


@router.get("/console/static/{name}", include_in_schema=False, dependencies=guarded)
async def console_asset(name: str) -> FileResponse:
    """The console's scripts and style sheet."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=NO_STORE)


@router.post("/console/login", status_code=204)
async def console_login(body: LoginBody, request: Request) -> Response:
    """Check the API key and sign this browser in (an HttpOnly cookie derived from the key)."""
    settings = request.app.state.settings
    response = Response(status_code=204)
    if is_open(settings):
        return response  # development: nothing to sign in to
    if not key_matches(settings, body.key):
        client = request.client.host if request.client else "?"
        logger.warning(f"console sign-in with a wrong key from {client}")
        raise HTTPException(status_code=401, detail="wrong API key")
    set_session(response, settings)
    return response


@router.post("/console/logout", status_code=204)
async def console_logout() -> Response:
    """Sign this browser out."""
    response = Response(status_code=204)
    clear_session(response)
    return response


@router.get("/console/api/calls", dependencies=guarded)
async def console_calls(
    request: Request,
    persona: str | None = None,
    tenant: str | None = None,
    status: Literal["active", "ended", "failed"] | None = None,
    since: str | None = Query(default=None, description="ISO 8601; started at or after"),
    until: str | None = Query(default=None, description="ISO 8601; started before"),
    limit: int = Query(default=100, ge=1, le=500),
) -> JSONResponse:
    """Live and finished calls, newest first: duration, end reason, cost, voice-to-voice p50."""
    try:
        start, end = parse_when(since), parse_when(until)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"since/until: {exc}") from exc
    rows = await list_calls(
        request.app,
        persona=persona or None,
        tenant=tenant or None,
        status=status,
        since=start,
        until=end,
        limit=limit,
    )
    return JSONResponse(rows, headers=NO_STORE)


@router.get("/console/api/calls/{call_id}", dependencies=guarded)
async def console_call(call_id: str, request: Request) -> JSONResponse:
    """One call: transcript, per-turn latency, recording, analysis, cost, tools, webhooks."""
    detail = await call_detail(request, call_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no call {call_id!r}")
    return JSONResponse(detail, headers=NO_STORE)


@router.get("/console/api/calls/{call_id}/recording", dependencies=guarded)
async def console_recording(call_id: str, request: Request) -> Response:
    """The call's stereo WAV (caller left, agent right)."""
    storage = request.app.state.storage
    recording = await storage.get_recording(call_id)
    if recording is None:
        raise HTTPException(status_code=404, detail=f"no recording of {call_id!r}")
    if recording.url.startswith(("http://", "https://")):
        data = await _download(storage, recording.url)
        return Response(data, media_type="audio/wav", headers=NO_STORE)
    try:
        path = file_inside(request.app.state.settings.recordings_path, f"{call_id}.wav")
    except UnsafePath as exc:
        raise HTTPException(status_code=404, detail="no such recording") from exc
    if Path(recording.url).resolve() != path or not path.is_file():
        raise HTTPException(status_code=404, detail="the recording file is gone")
    return FileResponse(path, media_type="audio/wav", headers=NO_STORE)


async def _download(storage: Any, url: str) -> bytes:
    """A recording kept in Supabase Storage, fetched with the service key."""
    object_url = getattr(storage, "object_url", None)
    prefix = object_url("") if callable(object_url) else None
    if not prefix or not url.startswith(prefix):
        raise HTTPException(status_code=404, detail="the recording is not in this storage")
    try:
        return await storage.client.storage.from_(storage.bucket).download(url[len(prefix) :])
    except Exception as exc:  # storage3's errors: the object is gone or unreachable
        raise HTTPException(status_code=502, detail=f"recording download failed: {exc}") from exc


@router.post("/console/api/calls/{call_id}/end", status_code=202, dependencies=guarded)
async def console_end_call(
    call_id: str, request: Request, body: calls_routes.EndCallBody | None = None
) -> JSONResponse:
    """Say goodbye and hang up, as ``POST /calls/{id}/end``."""
    return await calls_routes.end_call(call_id, request, body)


@router.get("/console/api/fleet", dependencies=guarded)
async def console_fleet(request: Request) -> JSONResponse:
    """Hosts, active calls, calls per host and per-stage latency over the last hour."""
    return JSONResponse(await fleet_view(request.app, request), headers=NO_STORE)
