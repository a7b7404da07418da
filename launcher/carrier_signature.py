"""Webhook signatures of the carriers beside Twilio.

- SignalWire: ``X-SignalWire-Signature``, Twilio's algorithm (HMAC-SHA1 of URL + sorted form)
  keyed with the project's signing key (``SIGNALWIRE_SIGNING_KEY``).
- Telnyx: ``telnyx-signature-ed25519``, an Ed25519 signature of ``"{telnyx-timestamp}|{body}"``
  checked with the account's public key (``TELNYX_PUBLIC_KEY``); older than
  ``TELNYX_TOLERANCE_SECS`` is refused (replay).
- Plivo: ``X-Plivo-Signature-V3`` (comma-separated candidates), base64 HMAC-SHA256 keyed with
  ``PLIVO_AUTH_TOKEN`` of ``"{url}.{X-Plivo-Signature-V3-Nonce}"``, where ``url`` is the URL
  with its query sorted, then ``.`` and the sorted form as ``name + value`` (plivo-python's
  ``validate_v3_signature``).

The URL a carrier signed is rebuilt from ``PUBLIC_URL`` / ``FLEET_PUBLIC_URL``, never the Host
header (``launcher.twilio_signature.public_request_urls``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from launcher.twilio_signature import is_valid as twilio_is_valid

TELNYX_TOLERANCE_SECS = 300


def signalwire_valid(
    signing_key: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """SignalWire's ``X-SignalWire-Signature`` (Twilio's algorithm, its own key)."""
    return twilio_is_valid(signing_key, url, params, signature)


def telnyx_valid(
    public_key: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float | None = None,
) -> bool:
    """Telnyx's Ed25519 webhook signature, and a timestamp within the tolerance."""
    if not signature or not timestamp or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > TELNYX_TOLERANCE_SECS:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), timestamp.encode() + b"|" + body)
    except (InvalidSignature, ValueError):
        return False
    return True


def plivo_signed_text(url: str, params: Iterable[tuple[str, str]]) -> str:
    """What Plivo signs for a POST to ``url`` with form ``params`` (before ``.nonce``)."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(parts.query, True)))
    pairs = sorted(params)
    if query or pairs:
        base += "?" + query
    if query and pairs:
        base += "."
    return base + "".join(k + v for k, v in pairs)


def plivo_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], nonce: str
) -> str:
    """Plivo's ``X-Plivo-Signature-V3`` for a POST webhook."""
    text = f"{plivo_signed_text(url, params)}.{nonce}"
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def plivo_valid(
    auth_token: str,
    url: str,
    params: Iterable[tuple[str, str]],
    signature: str | None,
    nonce: str | None,
) -> bool:
    """Constant-time check of Plivo's V3 signature (any of its comma-separated values)."""
    if not signature or not nonce:
        return False
    expected = plivo_signature(auth_token, url, list(params), nonce).encode()
    candidates = [c.strip().encode() for c in signature.split(",")]
    return any([hmac.compare_digest(expected, c) for c in candidates])
