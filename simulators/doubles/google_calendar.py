"""Google Calendar API v3 double, with the OAuth token endpoint of a service account.

- ``POST /token``: the JWT-bearer grant (``grant_type=urn:ietf:params:oauth:grant-type:
  jwt-bearer``, ``assertion``): an RS256 JWT signed with the double's service-account key, with
  ``iss`` its ``client_email``, ``aud`` this ``token_uri``, a ``scope`` holding the calendar
  scope and at most one hour between ``iat`` and ``exp``. Answers ``{"access_token",
  "expires_in", "token_type": "Bearer"}``, else 400 ``{"error": "invalid_grant", ...}``.
- ``GET /calendar/v3/calendars/{calendarId}``: the calendar (``timeZone``).
- ``POST /calendar/v3/freeBusy``: ``{"timeMin", "timeMax", "items": [{"id"}]}`` answers
  ``{"kind": "calendar#freeBusy", "calendars": {id: {"busy": [{"start", "end"}]}}}``, an
  unknown calendar with ``errors: [{"domain": "global", "reason": "notFound"}]``.
- ``POST /calendar/v3/calendars/{calendarId}/events``: inserts the event (``start``/``end``
  ``dateTime`` with ``timeZone``); a client-chosen ``id`` already used is a 409 ``duplicate``.
  Like Google, an overlapping event is *not* refused: refusing a busy slot is the caller's job.

Calls without a valid ``Authorization: Bearer`` token are 401 ``authError``; unknown calendars
404 ``notFound``; errors have Google's ``{"error": {"code", "message", "errors": [...]}}``.

Control: ``GET /_doubles/gcal`` (calendars, events, requests), ``GET
/_doubles/gcal/service_account`` (the key file JSON, ``token_uri`` pointing here), ``POST
/_doubles/gcal/calendars`` ``{"id", "timeZone", "busy": [{"start", "end"}]}`` to add a
calendar, ``POST /_doubles/gcal/reset``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SCOPE = "https://www.googleapis.com/auth/calendar"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class CalendarState:
    """What the double holds."""

    key_pem: str
    public_pem: str
    client_email: str = "switchboard@doubles-project.iam.gserviceaccount.com"
    tokens: set[str] = field(default_factory=set)
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    busy: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget calendars, events, tokens and requests."""
        for store in (self.tokens, self.calendars, self.events, self.busy):
            store.clear()
        self.requests.clear()


GCAL = web.AppKey("google_calendar", CalendarState)


def _error(status: int, reason: str, message: str) -> web.Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }
    return web.json_response(body, status=status)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def token(request: web.Request) -> web.Response:
    """``POST /token``: the service account's JWT-bearer grant."""
    state = request.app[GCAL]
    form = await request.post()
    state.requests.append({"time": time.time(), "path": "/token"})
    if form.get("grant_type") != JWT_BEARER:
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    token_uri = f"{request.scheme}://{request.host}/token"
    try:
        claims = jwt.decode(
            str(form.get("assertion", "")),
            state.public_pem,
            algorithms=["RS256"],
            audience=token_uri,
        )
    except jwt.PyJWTError as exc:
        return web.json_response(
            {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}, status=400
        )
    if claims.get("iss") != state.client_email or SCOPE not in str(claims.get("scope")).split():
        return web.json_response(
            {"error": "invalid_grant", "error_description": "Invalid issuer or scope"}, status=400
        )
    if int(claims["exp"]) - int(claims["iat"]) > 3600:
        return web.json_response(
            {"error": "invalid_grant", "error_description": "Invalid JWT: exp too far"}, status=400
        )
    access = "ya29." + secrets.token_urlsafe(32)
    state.tokens.add(access)
    return web.json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})


def _authorized(request: web.Request) -> web.Response | None:
    state = request.app[GCAL]
    header = request.headers.get("Authorization", "")
    body = request.get("json_body")  # read by the handler before this check
    state.requests.append(
        {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "body": body,
        }
    )
    if header.removeprefix("Bearer ") not in state.tokens:
        return _error(401, "authError", "Invalid Credentials")
    return None


async def get_calendar(request: web.Request) -> web.Response:
    """``GET /calendar/v3/calendars/{calendarId}``."""
    if (error := _authorized(request)) is not None:
        return error
    calendar = request.app[GCAL].calendars.get(request.match_info["calendar_id"])
    if calendar is None:
        return _error(404, "notFound", "Not Found")
    return web.json_response(calendar)


def _overlapping(state: CalendarState, cal_id: str, lo: datetime, hi: datetime) -> list[dict]:
    spans = [
        {"start": e["start"]["dateTime"], "end": e["end"]["dateTime"]}
        for e in state.events.get(cal_id, [])
        if e["status"] != "cancelled"
    ]
    spans += state.busy.get(cal_id, [])
    out = [s for s in spans if _parse(s["start"]) < hi and _parse(s["end"]) > lo]
    return sorted(out, key=lambda s: _parse(s["start"]))


async def free_busy(request: web.Request) -> web.Response:
    """``POST /calendar/v3/freeBusy``."""
    state = request.app[GCAL]
    request["json_body"] = body = await request.json()
    if (error := _authorized(request)) is not None:
        return error
    try:
        lo, hi = _parse(body["timeMin"]), _parse(body["timeMax"])
    except (KeyError, ValueError):
        return _error(400, "badRequest", "Bad Request")
    calendars: dict[str, Any] = {}
    for item in body.get("items") or []:
        cal_id = item.get("id")
        if cal_id not in state.calendars:
            calendars[cal_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        calendars[cal_id] = {"busy": _overlapping(state, cal_id, lo, hi)}
    return web.json_response(
        {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }
    )


async def insert_event(request: web.Request) -> web.Response:
    """``POST /calendar/v3/calendars/{calendarId}/events``."""
    state = request.app[GCAL]
    request["json_body"] = body = await request.json()
    if (error := _authorized(request)) is not None:
        return error
    cal_id = request.match_info["calendar_id"]
    if cal_id not in state.calendars:
        return _error(404, "notFound", "Not Found")
    try:
        _parse(body["start"]["dateTime"]), _parse(body["end"]["dateTime"])
    except (KeyError, TypeError, ValueError):
        return _error(400, "required", "Missing end time.")
    events = state.events.setdefault(cal_id, [])
    event_id = body.get("id") or uuid.uuid4().hex
    if any(e["id"] == event_id for e in events):
        return _error(409, "duplicate", "The requested identifier already exists.")
    event = {
        "kind": "calendar#event",
        "status": "confirmed",
        **body,
        "id": event_id,
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": datetime.now().astimezone().isoformat(),
    }
    events.append(event)
    return web.json_response(event)


async def control(request: web.Request) -> web.Response:
    """``GET /_doubles/gcal``."""
    state = request.app[GCAL]
    return web.json_response(
        {
            "calendars": state.calendars,
            "events": state.events,
            "busy": state.busy,
            "requests": state.requests,
        }
    )


async def service_account(request: web.Request) -> web.Response:
    """``GET /_doubles/gcal/service_account``: the key file to point the app at."""
    state = request.app[GCAL]
    base = f"{request.scheme}://{request.host}"
    return web.json_response(
        {
            "type": "service_account",
            "project_id": "doubles-project",
            "private_key_id": "double",
            "private_key": state.key_pem,
            "client_email": state.client_email,
            "client_id": "100000000000000000000",
            "token_uri": f"{base}/token",
        }
    )


async def add_calendar(request: web.Request) -> web.Response:
    """``POST /_doubles/gcal/calendars`` ``{"id", "timeZone", "busy"}``."""
    state = request.app[GCAL]
    body = await request.json()
    cal_id = body["id"]
    state.calendars[cal_id] = {
        "kind": "calendar#calendar",
        "id": cal_id,
        "summary": cal_id,
        "timeZone": body.get("timeZone", "UTC"),
    }
    state.busy[cal_id] = list(body.get("busy") or [])
    state.events.setdefault(cal_id, [])
    return web.json_response(state.calendars[cal_id])


async def reset(request: web.Request) -> web.Response:
    """``POST /_doubles/gcal/reset``."""
    request.app[GCAL].reset()
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    """Serve the Google Calendar double (and its token endpoint) on ``app``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app[GCAL] = CalendarState(pem, public.decode())
    r = app.router
    r.add_post("/token", token)
    r.add_get("/calendar/v3/calendars/{calendar_id}", get_calendar)
    r.add_post("/calendar/v3/freeBusy", free_busy)
    r.add_post("/calendar/v3/calendars/{calendar_id}/events", insert_event)
    r.add_get("/_doubles/gcal", control)
    r.add_get("/_doubles/gcal/service_account", service_account)
    r.add_post("/_doubles/gcal/calendars", add_calendar)
    r.add_post("/_doubles/gcal/reset", reset)
