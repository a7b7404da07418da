"""Who may open the calls console: the management API key, or a login cookie derived from it.

A browser cannot put ``Authorization`` on a page load or an ``<audio>`` request, so the console
has a login: ``POST /console/login`` with the key sets ``sb_console``, an HttpOnly,
``SameSite=Strict`` cookie ``<expiry>.<HMAC-SHA256(key, expiry)>``. The cookie never carries
the key; changing ``SWITCHBOARD_API_KEY`` signs everyone out. A cookie-authenticated request
that changes something (``POST``) must also carry ``X-Switchboard-Console: 1``, a header no
cross-site form can send. API clients may use the key itself (``Authorization: Bearer`` or
``X-API-Key``), as on every management route. In development, as the rest of the API, it is open.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import HTTPException, Request, Response

from config import Settings
from launcher.auth import require_api_key

COOKIE = "sb_console"
CSRF_HEADER = "x-switchboard-console"
SESSION_SECS = 12 * 3600


def _api_key(settings: Settings) -> str:
    key = settings.switchboard_api_key
    return key.get_secret_value() if key else ""


def _signature(key: str, expires: int) -> str:
    message = f"switchboard-console:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def session_cookie(settings: Settings, now: float | None = None) -> str:
    """A fresh login cookie value, good for :data:`SESSION_SECS`."""
    expires = int((now if now is not None else time.time()) + SESSION_SECS)
    return f"{expires}.{_signature(_api_key(settings), expires)}"


def cookie_valid(settings: Settings, value: str | None, now: float | None = None) -> bool:
    """True for an unexpired cookie signed with the current API key."""
    key = _api_key(settings)
    if not key or not value or "." not in value:
        return False
    expires, _, signature = value.partition(".")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature.encode(), _signature(key, int(expires)).encode())


def key_matches(settings: Settings, presented: str) -> bool:
    """The presented key is the API key (constant time)."""
    key = _api_key(settings)
    return bool(key) and hmac.compare_digest(presented.encode(), key.encode())


def is_open(settings: Settings) -> bool:
    """Development: the console, like the API, needs no key."""
    return settings.env != "production"


async def console_access(request: Request) -> bool:
    """Whether this request may see the console (key header or login cookie)."""
    settings: Settings = request.app.state.settings
    if is_open(settings):
        return True
    safe = request.method in ("GET", "HEAD") or request.headers.get(CSRF_HEADER) == "1"
    if safe and cookie_valid(settings, request.cookies.get(COOKIE)):
        return True
    try:
        await require_api_key(request)
    except HTTPException:
        return False
    return True


async def require_console(request: Request) -> None:
    """FastAPI dependency for the console's data routes.

    Raises:
        HTTPException: 401 without the key or a valid login cookie.
    """
    if not await console_access(request):
        raise HTTPException(
            status_code=401,
            detail="sign in to the console (POST /console/login) or send the API key",
            headers={"WWW-Authenticate": "Bearer"},
        )


def set_session(response: Response, settings: Settings) -> None:
    """Sign the browser in."""
    response.set_cookie(
        COOKIE,
        session_cookie(settings),
        max_age=SESSION_SECS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )


def clear_session(response: Response) -> None:
    """Sign the browser out."""
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
