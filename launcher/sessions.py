"""Browser call sessions: who a browser call is, decided by the operator's backend, never the page.

``POST /sessions`` (API key) signs a short-lived token carrying the persona, tenant, user and
metadata of one caller. The page presents it with its offer (``request_data.session``, or
``?session=`` on the demo page); the call's identity comes only from the token. An offer without
one is anonymous: allowed when ``ANONYMOUS_CALLS`` says so (by default in development only), and
it carries no tenant, user or metadata.

Token: ``<base64url JSON claims>.<base64url HMAC-SHA256(key, claims)>``, the key derived from
``MEDIA_TOKEN_SECRET`` (random per process when unset, as in development).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from config import Settings
from launcher.admission import persona_or_404
from launcher.auth import require_api_key

router = APIRouter()
MAX_TTL_SECS = 24 * 3600


class SessionError(ValueError):
    """A session token that is malformed, forged or expired."""


class SessionUser(BaseModel):
    """The caller, as the operator knows them."""

    id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)


class SessionRequest(BaseModel):
    """``POST /sessions`` body."""

    persona: str | None = None
    tenant: str = Field(default="default", max_length=100)
    user: SessionUser = SessionUser()
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_secs: int = Field(default=600, ge=10, le=MAX_TTL_SECS)


class SessionTokens:
    """Signs and checks session tokens."""

    def __init__(self, secret: bytes | None, clock: Any = time.time):
        secret = secret or secrets.token_bytes(32)
        self._key = hmac.new(secret, b"sessions", hashlib.sha256).digest()
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionTokens:
        """Tokens keyed by ``MEDIA_TOKEN_SECRET`` (or a random per-process secret)."""
        secret = settings.media_token_secret
        return cls(secret.get_secret_value().encode() if secret else None)

    def _mac(self, claims: bytes) -> str:
        digest = hmac.new(self._key, claims, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, claims: dict[str, Any], ttl_secs: int) -> tuple[str, int]:
        """A token for ``claims`` and its expiry (Unix seconds)."""
        expiry = int(self._clock()) + ttl_secs
        body = json.dumps({**claims, "exp": expiry}, separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        return f"{encoded}.{self._mac(encoded.encode())}", expiry

    def check(self, token: object) -> dict[str, Any]:
        """The claims of a valid, unexpired token.

        Raises:
            SessionError: Malformed, forged or expired.
        """
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 16_384:
            raise SessionError("malformed session token")
        encoded, mac = token.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac(encoded.encode()).encode()):
            raise SessionError("forged session token")
        try:
            claims = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except ValueError:
            raise SessionError("malformed session token") from None
        if not isinstance(claims, dict) or int(claims.get("exp", 0)) <= self._clock():
            raise SessionError("expired session token")
        return claims


def session_tokens(request: Request) -> SessionTokens:
    """The app's session-token signer (created on first use)."""
    tokens = getattr(request.app.state, "session_tokens", None)
    if tokens is None:
        tokens = request.app.state.session_tokens = SessionTokens.from_settings(
            request.app.state.settings
        )
    return tokens


def call_identity(request: Request, request_data: dict[str, Any]) -> dict[str, Any]:
    """What a browser offer may say about its call: from its session token, or nothing.

    Returns:
        ``persona``, and with a session ``tenant``, ``user_id``, ``user_name``, ``metadata``.

    Raises:
        HTTPException: 401 for a bad token, 403 for an anonymous offer where those are off or a
            persona the session does not allow.
    """
    settings: Settings = request.app.state.settings
    asked = request_data.get("persona")
    token = request_data.get("session")
    if token is None:
        anonymous = settings.anonymous_calls
        if anonymous is False or (anonymous is None and settings.env == "production"):
            raise HTTPException(
                status_code=403, detail="browser calls need a session token (POST /sessions)"
            )
        return {"persona": asked} if isinstance(asked, str) else {}
    try:
        claims = session_tokens(request).check(token)
    except SessionError as exc:
        raise HTTPException(status_code=401, detail=str(exc)) from None
    persona = claims.get("persona")
    if persona and asked and asked != persona:
        raise HTTPException(status_code=403, detail=f"this session is for {persona!r}")
    identity = {"persona": persona or asked, "tenant": claims.get("tenant") or "default"}
    user = claims.get("user") or {}
    identity.update({k: v for k, v in (("user_id", user.get("id")),
                                       ("user_name", user.get("name"))) if v})
    if claims.get("metadata"):
        identity["metadata"] = claims["metadata"]
    return {k: v for k, v in identity.items() if v is not None}


@router.post("/sessions", dependencies=[Depends(require_api_key)])
async def create_session(body: SessionRequest, request: Request) -> dict[str, Any]:
    """A session token for one browser caller (the operator's backend calls this)."""
    if body.persona is not None:
        persona_or_404(body.persona)
    claims = {
        "persona": body.persona,
        "tenant": body.tenant,
        "user": body.user.model_dump(exclude_none=True),
        "metadata": body.metadata,
    }
    token, expiry = session_tokens(request).issue(claims, body.ttl_secs)
    return {"token": token, "expires_at": expiry}
