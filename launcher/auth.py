"""Who gets in: the management API key, and start-up checks on secrets.

In production (``ENV=production``) every management route (``/rooms``, ``/calls...``) needs
``Authorization: Bearer <SWITCHBOARD_API_KEY>`` or ``X-API-Key``; in development it is open.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from loguru import logger

from config import Settings

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx", "todo", "test"}


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def require_api_key(request: Request) -> None:
    """FastAPI dependency for management routes.

    Raises:
        HTTPException: 401 when production requires a key and the request lacks the right one.
    """
    settings: Settings = request.app.state.settings
    if settings.env != "production":
        return
    key = settings.switchboard_api_key
    expected = key.get_secret_value() if key else ""
    presented = _presented_key(request) or ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def check_production_secrets(settings: Settings) -> None:
    """Refuse to start in production with empty or placeholder secrets.

    Raises:
        ValueError: Naming every variable that must be set to a real secret.
    """
    if settings.env != "production":
        return
    required = {
        "SWITCHBOARD_API_KEY": settings.switchboard_api_key,
        "MEDIA_TOKEN_SECRET": settings.media_token_secret,
    }
    if settings.twilio_account_sid:
        required["TWILIO_AUTH_TOKEN"] = settings.twilio_auth_token
    if settings.livekit_url:
        required["LIVEKIT_API_SECRET"] = settings.livekit_api_secret
    bad = [
        name
        for name, value in required.items()
        if value is None
        or value.get_secret_value().strip().lower() in _PLACEHOLDERS
        or len(value.get_secret_value()) < 16
    ]
    if not (settings.twilio_auth_token and settings.twilio_auth_token.get_secret_value()):
        logger.warning("production without TWILIO_AUTH_TOKEN: the phone routes refuse every call")
    if bad:
        raise ValueError(
            "refusing to start in production with empty, placeholder or short (<16 chars) "
            f"secrets: {', '.join(bad)}"
        )
