"""Signed one-use tokens that tie a Twilio media stream to the voice webhook that issued it.

``POST /twilio/voice`` issues a token for the call's whole identity (call id, persona, tenant,
numbers, user) and hands it to Twilio as a stream
``<Parameter>``; ``WS /twilio/media`` accepts a stream only with a valid, unexpired token it has
not seen before. Without it anyone who finds the websocket URL could start calls (and spend
provider money) with any persona.

Token: ``<expiry>.<nonce>.<base64url HMAC-SHA256(secret, "call_id|persona|expiry|nonce|who")>``
(``who``: the other stream parameters, sorted, as JSON)
(the nonce keeps two tokens issued for one call in the same second distinct). Used tokens are
remembered until they expire, so memory stays bounded by the issue rate times the TTL (and by
``max_used``: past it new streams are refused rather than risking a replay). The used set is per
process; a multi-process deployment shares ``MEDIA_TOKEN_SECRET`` but must route a call's stream
to the process that answered its webhook, or keep the used set in shared storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from config import Settings

TOKEN_PARAM = "media_token"


def media_secret(settings: Settings) -> str:
    """``MEDIA_TOKEN_SECRET``, or a random one for this launcher (and the workers it starts)."""
    configured = settings.media_token_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    return secrets.token_urlsafe(32)


class MediaTokenError(Exception):
    """A refused media token (``reason``: missing, malformed, forged, expired, replayed, busy)."""

    def __init__(self, reason: str):
        super().__init__(f"media token {reason}")
        self.reason = reason


class MediaTokens:
    """Issues and checks one-use media-stream tokens.

    Args:
        secret: HMAC key (random per process when None: tokens then only work in this process).
        ttl_secs: How long a token is valid after it was issued.
        max_used: Most used-but-unexpired tokens remembered at once.
        clock: Wall-clock seconds (the expiry travels inside the token).
    """

    def __init__(
        self,
        secret: bytes | None,
        ttl_secs: int,
        max_used: int = 100_000,
        clock: Callable[[], float] = time.time,
    ):
        self._secret = secret or secrets.token_bytes(32)
        self._ttl = ttl_secs
        self._max_used = max_used
        self._clock = clock
        self._used: OrderedDict[str, int] = OrderedDict()  # signature -> expiry, oldest first

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaTokens:
        """Tokens signed with ``MEDIA_TOKEN_SECRET`` (or a random secret) and its TTL."""
        secret = settings.media_token_secret
        key = secret.get_secret_value().encode() if secret and secret.get_secret_value() else None
        return cls(key, settings.media_token_ttl_secs)

    def _sign(
        self,
        call_id: str,
        persona: str,
        expiry: int,
        nonce: str,
        identity: Mapping[str, str] | None,
    ) -> str:
        who = json.dumps(sorted((identity or {}).items()), ensure_ascii=False)
        message = f"{call_id}|{persona}|{expiry}|{nonce}|{who}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(
        self, call_id: str, persona: str, identity: Mapping[str, str] | None = None
    ) -> str:
        """A token for this call, persona and caller identity, valid for the TTL from now.

        Args:
            call_id: The call's id.
            persona: The persona's name.
            identity: Every other stream parameter (tenant, numbers, user): none can be changed
                without breaking the token.
        """
        expiry = int(self._clock()) + self._ttl
        nonce = secrets.token_urlsafe(9)
        return f"{expiry}.{nonce}.{self._sign(call_id, persona, expiry, nonce, identity)}"

    def consume(
        self,
        token: object,
        call_id: object,
        persona: object,
        identity: Mapping[str, str] | None = None,
    ) -> None:
        """Accept a token once.

        Args:
            token: The token from the stream's custom parameters.
            call_id: The stream's ``call_id`` parameter.
            persona: The stream's ``persona`` parameter.
            identity: The stream's other parameters, as issued.

        Raises:
            MediaTokenError: The token is missing, malformed, forged (or does not match the call
                and persona), expired, already used, or too many tokens are outstanding.
        """
        if not token:
            raise MediaTokenError("missing")
        if not (isinstance(token, str) and isinstance(call_id, str) and isinstance(persona, str)):
            raise MediaTokenError("malformed")
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12 or not all(parts):
            raise MediaTokenError("malformed")
        expiry, nonce, signature = int(parts[0]), parts[1], parts[2]
        try:
            expected = self._sign(call_id, persona, expiry, nonce, identity)
        except UnicodeEncodeError:  # a lone surrogate: no token was ever issued for it
            raise MediaTokenError("malformed") from None
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise MediaTokenError("forged")
        now = self._clock()
        if expiry <= now:
            raise MediaTokenError("expired")
        self._forget_expired(now)
        if expected in self._used:
            raise MediaTokenError("replayed")
        if len(self._used) >= self._max_used:
            raise MediaTokenError("busy")
        self._used[expected] = expiry

    def _forget_expired(self, now: float) -> None:
        # The TTL is constant, so insertion order is expiry order (up to clock steps).
        while self._used:
            oldest, expiry = next(iter(self._used.items()))
            if expiry > now:
                break
            del self._used[oldest]

    @property
    def used_count(self) -> int:
        """Used tokens remembered now (for tests and metrics)."""
        return len(self._used)
