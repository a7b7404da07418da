"""Twilio REST double: ``/2010-04-01/Accounts/{sid}/Calls[/{call_sid}].json``.

SignalWire's LaML API is the same under ``/api/laml`` with its project id and API token (and
call sids that are UUIDs).
"""

from __future__ import annotations

import secrets
import time
from email.utils import formatdate
from typing import Any

from aiohttp import web

from simulators.doubles.auth import twilio_auth_ok
from simulators.doubles.config import DoublesState


def _error(code: int, message: str, status: int) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
        headers={"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None,
    )


def _call(state: DoublesState, sid: str, **fields: Any) -> dict[str, Any]:
    now = formatdate(usegmt=True)
    account = state.creds.twilio_sid
    call = state.twilio_calls.get(sid) or {
        "sid": sid,
        "account_sid": account,
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "direction": "inbound",
        "from": None,
        "to": None,
        "status": "in-progress",
        "start_time": now,
        "end_time": None,
        "duration": None,
        "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
    }
    call.update(fields, date_updated=now)
    state.twilio_calls[sid] = call
    return call


async def _record(request: web.Request, status: int, form: dict[str, str]) -> None:
    request.app["state"].twilio_requests.append(
        {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "form": form,
            "status": status,
            "call_sid": request.match_info.get("call_sid"),
        }
    )


def _laml_account(request: web.Request, state: DoublesState) -> str:
    laml = request.path.startswith("/api/laml/")
    return state.creds.signalwire_project if laml else state.creds.twilio_sid


async def _guard(request: web.Request) -> tuple[web.Response | None, dict[str, str]]:
    state = request.app["state"]
    form = {k: str(v) for k, v in (await request.post()).items()}
    state.count("twilio", "requests")
    account = _laml_account(request, state)
    if not twilio_auth_ok(request, state) or request.match_info["sid"] != account:
        state.count("twilio", "auth_failures")
        resp = _error(20003, "Authenticate", 401)
        await _record(request, 401, form)
        return resp, form
    return None, form


async def create_call(request: web.Request) -> web.Response:
    """``POST Calls.json``: create an outbound call (To, From, Url or Twiml)."""
    state = request.app["state"]
    error, form = await _guard(request)
    if error is not None:
        return error
    if not form.get("To"):
        resp = _error(21201, "No 'To' number is specified", 400)
    elif not form.get("From"):
        resp = _error(21213, "No 'From' number is specified", 400)
    elif not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
        resp = _error(21205, "Url parameter is required.", 400)
    else:
        sid = "CA" + secrets.token_hex(16)
        call = _call(
            state, sid, to=form["To"], **{"from": form["From"]}, status="queued",
            direction="outbound-api", url=form.get("Url"), twiml=form.get("Twiml"),
        )  # fmt: skip
        resp = web.json_response(call, status=201)
    await _record(request, resp.status, form)
    return resp


async def update_call(request: web.Request) -> web.Response:
    """``POST Calls/{call_sid}.json``: hang up (Status=completed) or redirect (Twiml/Url)."""
    state = request.app["state"]
    error, form = await _guard(request)
    if error is not None:
        return error
    sid = request.match_info["call_sid"]
    existing = state.twilio_calls.get(sid)
    laml = request.path.startswith("/api/laml/")
    ended = existing and existing["status"] in ("completed", "canceled")
    if not (laml or sid.startswith("CA")) or ended:
        resp = _error(20404, f"The requested resource {request.path} was not found", 404)
    else:
        fields: dict[str, Any] = {}
        status = form.get("Status")
        if status in ("completed", "canceled"):
            fields.update(status=status, end_time=formatdate(usegmt=True))
        elif status:
            resp = _error(21218, f"Invalid Status {status}", 400)
            await _record(request, resp.status, form)
            return resp
        if form.get("Twiml") or form.get("Url"):
            fields.update(twiml=form.get("Twiml"), url=form.get("Url"))
        resp = web.json_response(_call(state, sid, **fields))
    await _record(request, resp.status, form)
    return resp


async def fetch_call(request: web.Request) -> web.Response:
    """``GET Calls/{call_sid}.json``."""
    state = request.app["state"]
    if not twilio_auth_ok(request, state):
        return _error(20003, "Authenticate", 401)
    call = state.twilio_calls.get(request.match_info["call_sid"])
    if call is None:
        return _error(20404, f"The requested resource {request.path} was not found", 404)
    return web.json_response(call)


def add_routes(app: web.Application) -> None:
    """Register the Twilio routes."""
    for prefix in ("", "/api/laml"):  # Twilio's own, then SignalWire's LaML
        base = prefix + "/2010-04-01/Accounts/{sid}/Calls"
        app.router.add_post(base + ".json", create_call)
        app.router.add_post(base + "/{call_sid}.json", update_call)
        app.router.add_get(base + "/{call_sid}.json", fetch_call)
