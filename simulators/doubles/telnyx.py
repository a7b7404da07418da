"""Telnyx Call Control v2 double: ``POST /v2/calls/{call_control_id}/actions/{hangup,transfer}``.

Answers as Telnyx does: Bearer ``Authorization`` (401 with ``errors[].code`` 10009 otherwise),
``200 {"data": {"result": "ok"}}``, and ``422`` code 90018 for a call that already ended.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from simulators.doubles.auth import bearer


def _errors(status: int, code: str, title: str, detail: str) -> web.Response:
    body = {"errors": [{"code": code, "title": title, "detail": detail}]}
    return web.json_response(body, status=status)


def _record(request: web.Request, status: int, body: dict[str, Any]) -> None:
    request.app["state"].carrier_requests.append(
        {
            "carrier": "telnyx",
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "action": request.match_info["action"],
            "call_id": request.match_info["call_control_id"],
            "body": body,
            "status": status,
        }
    )


async def call_action(request: web.Request) -> web.Response:
    """``POST /v2/calls/{call_control_id}/actions/{action}`` (hangup, transfer)."""
    state = request.app["state"]
    state.count("telnyx", "requests")
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        body = {"<invalid>": raw.decode(errors="replace")}
    action, call = request.match_info["action"], request.match_info["call_control_id"]
    key = f"telnyx:{call}"
    if bearer(request) != state.creds.telnyx_key:
        resp = _errors(401, "10009", "Authentication failed", "Could not understand the API key")
    elif action not in ("hangup", "transfer"):
        resp = _errors(404, "10005", "Resource not found", f"unknown action {action}")
    elif state.carrier_calls.get(key) in ("hangup", "transferred"):
        resp = _errors(422, "90018", "Call has already ended", "This call is no longer active")
    elif action == "transfer" and not (isinstance(body, dict) and body.get("to")):
        resp = _errors(422, "10015", "Invalid parameter", "The 'to' parameter is required")
    else:
        state.carrier_calls[key] = "hangup" if action == "hangup" else "transferred"
        resp = web.json_response({"data": {"result": "ok"}})
    _record(request, resp.status, body if isinstance(body, dict) else {})
    return resp


def add_routes(app: web.Application) -> None:
    """Register the Telnyx routes."""
    app.router.add_post("/v2/calls/{call_control_id}/actions/{action}", call_action)
