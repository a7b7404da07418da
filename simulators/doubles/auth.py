"""Credential checks, answered the way each real provider answers them."""

from __future__ import annotations

import base64

from aiohttp import web

from simulators.doubles.config import DoublesState


def bearer(request: web.Request) -> str | None:
    """Return the Bearer token of a request, if any."""
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def cartesia_auth_error(request: web.Request, state: DoublesState) -> web.Response | None:
    """Check ``X-API-Key`` (or ``api_key`` query) and ``Cartesia-Version``.

    Returns:
        An error response, or None when the request is allowed.
    """
    key = request.headers.get("X-API-Key") or request.query.get("api_key")
    if key != state.creds.cartesia_key:
        return web.json_response({"error": "Invalid API key", "code": "unauthorized"}, status=401)
    if not (request.headers.get("Cartesia-Version") or request.query.get("cartesia_version")):
        return web.json_response({"error": "Cartesia-Version header is required"}, status=400)
    return None


def openai_auth_error(request: web.Request, key: str, groq: bool = False) -> web.Response | None:
    """Check an OpenAI-style Bearer key.

    Args:
        request: The request.
        key: The accepted key.
        groq: Render Groq's error body instead of OpenAI's.

    Returns:
        A 401 response, or None when the key is right.
    """
    if bearer(request) == key:
        return None
    message = "Invalid API Key" if groq else "Incorrect API key provided."
    return web.json_response(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
        status=401,
    )


def basic_auth_ok(request: web.Request, user: str, password: str) -> bool:
    """Check HTTP Basic auth against one user and password."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return False
    try:
        given, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return given == user and secret == password


def twilio_auth_ok(request: web.Request, state: DoublesState) -> bool:
    """Check Basic auth against the account SID and auth token (SignalWire's under /api/laml)."""
    if request.path.startswith("/api/laml/"):
        creds = state.creds
        return basic_auth_ok(request, creds.signalwire_project, creds.signalwire_token)
    return basic_auth_ok(request, state.creds.twilio_sid, state.creds.twilio_token)
