"""Plivo Call API double: ``/v1/Account/{auth_id}/Call/{call_uuid}/``.

``DELETE`` hangs the call up (``204``; ``404`` once it has ended); ``POST`` with
``legs=aleg`` and ``aleg_url`` transfers it (``202``). Basic auth with the auth id and token,
``401`` otherwise. Bodies are JSON, as Plivo's SDKs send them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from simulators.doubles.auth import basic_auth_ok


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"api_id": str(uuid.uuid4()), "error": message}, status=status)


async def call(request: web.Request) -> web.Response:
    """``DELETE`` (hang up) or ``POST`` (transfer) one live call."""
    state = request.app["state"]
    state.count("plivo", "requests")
    raw = await request.read()
    try:
        body: Any = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        body = {}
    body = body if isinstance(body, dict) else {}
    auth_id, call_uuid = request.match_info["auth_id"], request.match_info["call_uuid"]
    key = f"plivo:{call_uuid}"
    creds = state.creds
    if not basic_auth_ok(request, creds.plivo_auth_id, creds.plivo_token) or (
        auth_id != creds.plivo_auth_id
    ):
        resp = _error(401, "Authentication credentials invalid")
    elif state.carrier_calls.get(key) in ("hangup", "transferred"):
        resp = _error(404, "call not found")
    elif request.method == "DELETE":
        state.carrier_calls[key] = "hangup"
        resp = web.Response(status=204)
    elif body.get("legs") not in ("aleg", "bleg", "both") or not body.get("aleg_url"):
        resp = _error(400, "legs and aleg_url are required to transfer the call")
    else:
        state.carrier_calls[key] = "transferred"
        resp = web.json_response(
            {"api_id": str(uuid.uuid4()), "message": "call transferred", "call_uuids": [call_uuid]},
            status=202,
        )
    state.carrier_requests.append(
        {
            "carrier": "plivo",
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "call_id": call_uuid,
            "body": body,
            "status": resp.status,
        }
    )
    return resp


def add_routes(app: web.Application) -> None:
    """Register the Plivo routes."""
    app.router.add_delete("/v1/Account/{auth_id}/Call/{call_uuid}/", call)
    app.router.add_post("/v1/Account/{auth_id}/Call/{call_uuid}/", call)
