"""A simulated phone call through SignalWire, Telnyx or Plivo: their webhook, then their wire.

``CarrierCaller`` is ``TwilioCaller`` with two carrier parts swapped: the signed voice webhook
(form fields, signature header, the XML answer) and the media-stream wire
(``simulators.callers.carrier_wire``). The signatures are computed here independently of the
launcher's checks:

- SignalWire: ``X-SignalWire-Signature``, Twilio's HMAC-SHA1 keyed with the signing key;
- Telnyx: ``telnyx-signature-ed25519`` over ``"{telnyx-timestamp}|{raw body}"``;
- Plivo: ``X-Plivo-Signature-V3`` (HMAC-SHA256 of ``url.nonce``) with its nonce header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulators.callers.carrier_wire import wire_for
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twiml import TwimlAnswer, parse_twiml, twilio_signature


def plivo_v3_signature(auth_token: str, url: str, form: Mapping[str, str], nonce: str) -> str:
    """Plivo's V3 signature of a POST (plivo-python's ``construct_post_url`` + nonce)."""
    parts = urlsplit(url)
    signed = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(parts.query, True)))
    if query or form:
        signed += "?" + query
    if query and form:
        signed += "."
    signed += "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(auth_token.encode(), f"{signed}.{nonce}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def telnyx_headers(seed_b64: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Telnyx's signature headers for a webhook body, signed with the Ed25519 seed."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64))
    signature = key.sign(ts.encode() + b"|" + body)
    return {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": ts,
    }


def _ids(carrier: str) -> tuple[str, str, str]:
    """(account, call id, stream id) shaped as the carrier's."""
    if carrier == "telnyx":
        return str(uuid.uuid4()), "v3:" + secrets.token_urlsafe(24), str(uuid.uuid4())
    if carrier == "plivo":
        return "MA" + secrets.token_hex(9).upper(), str(uuid.uuid4()), str(uuid.uuid4())
    return str(uuid.uuid4()), str(uuid.uuid4()), "MZ" + secrets.token_hex(16)  # SignalWire


class CarrierCaller(TwilioCaller):
    """One simulated inbound call at ``carrier``.

    Args:
        carrier: ``signalwire``, ``telnyx`` or ``plivo``.
        webhook_url: The voice webhook (``.../{carrier}/voice``).
        secret: What signs the webhook (SignalWire signing key, Telnyx Ed25519 seed as base64,
            Plivo auth token); None sends it unsigned.
        **kwargs: As for ``TwilioCaller`` (numbers, thresholds...).
    """

    def __init__(self, carrier: str, *, webhook_url: str, secret: str | None, **kwargs: Any):
        account, call_id, stream_id = _ids(carrier)
        kwargs.setdefault("account_sid", account)
        kwargs.setdefault("call_sid", call_id)
        kwargs.setdefault("stream_sid", stream_id)
        super().__init__(webhook_url=webhook_url, auth_token="", **kwargs)
        self.carrier = carrier
        self.secret = secret
        self.wire = wire_for(carrier, self.from_number, self.to_number)

    def webhook_form(self) -> dict[str, str]:
        """The form fields the carrier POSTs when the call comes in."""
        if self.carrier == "plivo":
            form = {
                "CallUUID": self.call_sid, "From": self.from_number, "To": self.to_number,
                "Direction": "inbound", "CallStatus": "ringing", "Event": "StartApp",
                "BillRate": "0.00850", "CallerName": "",
            }  # fmt: skip
        else:  # LaML and TeXML: Twilio's field names
            form = {
                "AccountSid": self.account_sid, "CallSid": self.call_sid,
                "From": self.from_number, "To": self.to_number, "Called": self.to_number,
                "Caller": self.from_number, "CallStatus": "ringing", "Direction": "inbound",
                "ApiVersion": "2010-04-01",
            }  # fmt: skip
        return {**form, **self.webhook_extra}

    def signed_headers(self, url: str, form: Mapping[str, str], body: bytes) -> dict[str, str]:
        """The carrier's signature headers for this webhook request."""
        if not self.secret:
            return {}
        if self.carrier == "telnyx":
            return telnyx_headers(self.secret, body)
        if self.carrier == "plivo":
            nonce = str(secrets.randbelow(10**20))
            return {
                "X-Plivo-Signature-V3": plivo_v3_signature(self.secret, url, form, nonce),
                "X-Plivo-Signature-V3-Nonce": nonce,
            }
        return {"X-SignalWire-Signature": twilio_signature(self.secret, url, form)}

    async def _fetch_answer(self) -> TwimlAnswer:
        assert self.webhook_url is not None
        form = self.webhook_form()
        body = urlencode(form).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **self.signed_headers(self.webhook_url, form, body),
        }
        async with httpx.AsyncClient(timeout=10.0) as client:
            resp = await client.post(self.webhook_url, content=body, headers=headers)
        return parse_twiml(resp.text, resp.status_code)
