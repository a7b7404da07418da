"""Twilio webhook signatures (``X-Twilio-Signature``).

Twilio signs each webhook with base64(HMAC-SHA1(auth_token, url + params)), where ``url`` is the
full URL it requested (scheme, host, port, path and query, exactly as configured) and ``params``
is every POST form field sorted by name, each name followed by its value. Behind a proxy the URL
Twilio called is not the one this process sees, so it is rebuilt from ``PUBLIC_URL`` (or, in a
fleet whose webhooks go to a shared address, ``FLEET_PUBLIC_URL``): the Host header is never
trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from fastapi import HTTPException, Request
from loguru import logger

from config import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_warned_unsigned = False
PHONE_OFF = "phone calls are off: TWILIO_AUTH_TOKEN is not set, so webhooks cannot be verified"


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Twilio's signature for a webhook request.

    Args:
        auth_token: The account auth token (the HMAC key).
        url: The full URL Twilio requested, query string included.
        params: The POST form fields as (name, value) pairs (none for GET).

    Returns:
        The base64 signature Twilio sends in ``X-Twilio-Signature``.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + v for name in sorted(values) for v in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL with the scheme's default port added or removed.

    Twilio's own validators accept both forms, because whether the port is part of the signed
    URL depends on how the webhook URL was written in the console.
    """
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        other = prefix + f"{host}:{default}"
    elif parts.port == default:
        other = prefix + host
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def is_valid(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Constant-time check of a presented signature against the expected one(s).

    Args:
        auth_token: The account auth token.
        url: The full URL Twilio requested.
        params: The POST form fields.
        signature: The ``X-Twilio-Signature`` header (None when absent).

    Returns:
        True when the signature matches the URL (with or without its default port).
    """
    if not signature:
        return False
    pairs = list(params)
    presented = signature.encode()
    matches = [
        hmac.compare_digest(presented, compute_signature(auth_token, u, pairs).encode())
        for u in url_variants(url)
    ]
    return any(matches)


def public_request_urls(settings: Settings, request: Request) -> list[str]:
    """The URLs Twilio may have called: this request's path and query on our public bases.

    The bases are ``PUBLIC_URL`` (this host) and ``FLEET_PUBLIC_URL`` (a fleet's shared
    address), when set.
    """
    bases = [settings.public_url, settings.fleet_public_url]
    query = request.url.query
    urls = [base.rstrip("/") + request.url.path for base in bases if base]
    return [f"{url}?{query}" if query else url for url in urls]


async def require_twilio_signature(request: Request) -> None:
    """FastAPI dependency for Twilio webhooks: checks ``X-Twilio-Signature`` when a token is set.

    Raises:
        HTTPException: 403 when the signature is missing or wrong.
    """
    settings: Settings = request.app.state.settings
    token = settings.twilio_auth_token
    if token is None or not token.get_secret_value():
        if settings.env == "production":  # unsigned phone webhooks are never trusted there
            raise HTTPException(status_code=403, detail=PHONE_OFF)
        global _warned_unsigned
        if not _warned_unsigned:
            _warned_unsigned = True
            logger.warning(
                "TWILIO_AUTH_TOKEN is not set: Twilio webhook signatures are not checked"
            )
        return  # no Twilio credentials (development): nothing to check against
    form = await request.form()  # Starlette caches it: the route reads the same form
    params = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    urls = public_request_urls(settings, request)
    signature = request.headers.get("x-twilio-signature")
    if not any(is_valid(token.get_secret_value(), url, params, signature) for url in urls):
        reason = "missing" if not signature else "bad"
        logger.warning(f"twilio webhook {request.url.path}: {reason} X-Twilio-Signature (403)")
        raise HTTPException(status_code=403, detail=f"{reason} X-Twilio-Signature")
