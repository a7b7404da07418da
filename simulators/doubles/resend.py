"""Resend double: ``POST /emails``, the email-sending endpoint of Resend's HTTP API.

- Auth: ``Authorization: Bearer re_...``; missing is a 401 ``missing_api_key``, a wrong key a
  403 ``invalid_api_key``.
- Body: JSON with ``from``, ``to`` (an address or a list of at most 50), ``subject`` and one of
  ``html``/``text``; a missing field is a 422 ``missing_required_field``, a malformed address
  or body a 422 ``validation_error``. Success: 200 ``{"id": "<uuid>"}``.
- ``Idempotency-Key`` (1-256 characters, else 400 ``invalid_idempotency_key``): the same key
  with the same body answers the first id again without sending; with another body it is a
  409 ``invalid_idempotent_request``.

Errors have Resend's shape: ``{"statusCode", "message", "name"}``.

Control: ``GET /_doubles/resend`` (sent emails and every request), ``POST
/_doubles/resend/reset``.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ADDRESS = re.compile(r"^(?:[^<>]*<)?([^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,})>?$")


@dataclass
class ResendState:
    """What the double holds."""

    key: str
    emails: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget emails, requests and idempotency keys."""
        self.emails.clear()
        self.requests.clear()
        self.idempotent.clear()


RESEND = web.AppKey("resend", ResendState)


def _error(status: int, name: str, message: str) -> web.Response:
    return web.json_response(
        {"statusCode": status, "message": message, "name": name}, status=status
    )


def _check_auth(request: web.Request, key: str) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return _error(401, "missing_api_key", "Missing API key in the authorization header.")
    if header != f"Bearer {key}":
        return _error(403, "invalid_api_key", "API key is invalid")
    return None


def _check_body(body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return _error(422, "validation_error", "The request body must be a JSON object.")
    missing = [name for name in ("from", "to", "subject") if not body.get(name)]
    if not (body.get("html") or body.get("text") or body.get("react")):
        missing.append("html or text")
    if missing:
        return _error(422, "missing_required_field", f"Missing `{', '.join(missing)}` field.")
    to = body["to"] if isinstance(body["to"], list) else [body["to"]]
    if len(to) > 50:
        return _error(422, "validation_error", "Too many recipients: at most 50.")
    for address in [body["from"], *to]:
        if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
            return _error(422, "validation_error", f"Invalid `to` or `from` field: {address!r}.")
    return None


async def send_email(request: web.Request) -> web.Response:
    """``POST /emails``."""
    state = request.app[RESEND]
    try:
        body = await request.json()
    except ValueError:
        body = None
    key = request.headers.get("Idempotency-Key")
    state.requests.append({"time": time.time(), "body": body, "idempotency_key": key})
    if (error := _check_auth(request, state.key)) is not None:
        return error
    if (error := _check_body(body)) is not None:
        return error
    if key is not None and not 1 <= len(key) <= 256:
        return _error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
    if key is not None and key in state.idempotent:
        first_body, first_id = state.idempotent[key]
        if first_body != body:
            return _error(
                409,
                "invalid_idempotent_request",
                "Same idempotency key used with a different request payload.",
            )
        return web.json_response({"id": first_id})
    email_id = str(uuid.uuid4())
    to = body["to"] if isinstance(body["to"], list) else [body["to"]]
    state.emails.append({"id": email_id, **body, "to": to, "time": time.time()})
    if key is not None:
        state.idempotent[key] = (body, email_id)
    return web.json_response({"id": email_id})


async def control(request: web.Request) -> web.Response:
    """``GET /_doubles/resend``: sent emails and every request."""
    state = request.app[RESEND]
    return web.json_response({"emails": state.emails, "requests": state.requests})


async def reset(request: web.Request) -> web.Response:
    """``POST /_doubles/resend/reset``."""
    request.app[RESEND].reset()
    return web.json_response({"ok": True})


def add_routes(app: web.Application, key: str) -> None:
    """Serve the Resend double on ``app``, accepting the API key ``key``."""
    app[RESEND] = ResendState(key)
    app.router.add_post("/emails", send_email)
    app.router.add_get("/_doubles/resend", control)
    app.router.add_post("/_doubles/resend/reset", reset)
