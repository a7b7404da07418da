"""The webhook signature: ``Switchboard-Signature: v1=<hex HMAC-SHA256("{timestamp}.{body}")>``.

Receivers verify it with the snippet in the README (the same computation as :func:`verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "v1"
EVENT_ID_HEADER = "Switchboard-Event-Id"
TIMESTAMP_HEADER = "Switchboard-Timestamp"
SIGNATURE_HEADER = "Switchboard-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, tolerance_secs: float = 300
) -> bool:
    """True when ``signature`` is ours for this body and the timestamp is recent enough."""
    try:
        if abs(time.time() - int(timestamp)) > tolerance_secs:
            return False
    except ValueError:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


def headers(event_id: str, body: bytes, secret: str | None, at: float | None = None) -> dict:
    """The headers of one delivery attempt (unsigned when no secret is configured)."""
    timestamp = str(int(at if at is not None else time.time()))
    out = {
        "Content-Type": "application/json",
        "User-Agent": "Switchboard-Webhooks/1",
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        out[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return out
