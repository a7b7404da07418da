"""The HTTP half of a Twilio call: the signed voice webhook and the TwiML answer.

Twilio POSTs form fields to the number's voice URL with an ``X-Twilio-Signature`` header:
base64(HMAC-SHA1(auth_token, url + concat(sorted(name + value)))). The app answers with TwiML;
for a voice agent that is ``<Connect><Stream url="wss://..."><Parameter .../></Stream></Connect>``,
and a refusal is usually ``<Say>...</Say><Hangup/>`` or ``<Reject/>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from loguru import logger


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """Compute Twilio's ``X-Twilio-Signature`` for a webhook request.

    Args:
        auth_token: The account auth token (HMAC key).
        url: The full URL Twilio requests, including scheme, port and query string.
        params: The POST form fields (empty for GET).

    Returns:
        The base64 signature.
    """
    data = url + "".join(f"{k}{v}" for k, v in sorted((params or {}).items()))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def random_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two-letter prefix and 32 hex digits (e.g. ``CA…``, ``MZ…``)."""
    return prefix + secrets.token_hex(16)


def voice_webhook_form(
    call_sid: str,
    account_sid: str,
    from_number: str,
    to_number: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The form fields Twilio sends for an incoming call (the common subset)."""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": to_number,
        "Caller": from_number,
        "Direction": "inbound",
        "From": from_number,
        "To": to_number,
    }
    form.update(extra or {})
    return form


@dataclass
class TwimlAnswer:
    """What the voice webhook answered.

    Attributes:
        status_code: HTTP status of the webhook response.
        body: The raw response text.
        stream_url: ``<Connect><Stream url>`` if the app connected the call to a media stream.
        parameters: ``<Parameter name value>`` children of that ``<Stream>``.
        say: Texts of any ``<Say>`` verbs, in order.
        hangup: True if the TwiML contains ``<Hangup/>`` or ``<Reject/>``.
        pause_secs: Total ``<Pause length>`` of the document (what Twilio waits through when
            the stream ends without a hang-up).
    """

    status_code: int
    body: str
    stream_url: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    say: list[str] = field(default_factory=list)
    hangup: bool = False
    pause_secs: int = 0

    @property
    def rejected(self) -> bool:
        """True when the call was not connected to a stream (refused, error or hang-up)."""
        return self.stream_url is None

    @property
    def say_text(self) -> str:
        """All ``<Say>`` texts joined with spaces."""
        return " ".join(self.say)


def parse_twiml(body: str, status_code: int = 200) -> TwimlAnswer:
    """Parse a TwiML document (tolerates non-XML bodies: they parse as a rejection)."""
    answer = TwimlAnswer(status_code=status_code, body=body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        logger.warning(f"webhook answer is not XML (HTTP {status_code}): {body[:200]!r}")
        return answer
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "Stream" and answer.stream_url is None:
            answer.stream_url = el.get("url") or (el.text or "").strip() or None  # Plivo: text
            for p in el.iter():
                if p.tag.rsplit("}", 1)[-1] == "Parameter" and p.get("name") is not None:
                    answer.parameters[p.get("name", "")] = p.get("value", "")
        elif tag in ("Say", "Speak"):  # Plivo speaks
            answer.say.append((el.text or "").strip())
        elif tag in ("Hangup", "Reject"):
            answer.hangup = True
        elif tag == "Pause":
            answer.pause_secs += int(el.get("length") or 1)
    return answer


async def fetch_twiml(
    webhook_url: str,
    form: Mapping[str, str],
    auth_token: str | None,
    timeout: float = 10.0,
) -> TwimlAnswer:
    """POST the voice webhook as Twilio does and parse the TwiML answer.

    Args:
        webhook_url: Full voice URL (the exact string is signed).
        form: Form fields, e.g. from :func:`voice_webhook_form`.
        auth_token: Signs the request when given; otherwise no signature header is sent.
        timeout: HTTP timeout in seconds (Twilio itself waits 15 s).
    """
    headers = {"User-Agent": "TwilioProxy/1.1", "Accept": "*/*"}
    if auth_token:
        headers["X-Twilio-Signature"] = twilio_signature(auth_token, webhook_url, form)
    async with httpx.AsyncClient(timeout=timeout) as client:
        resp = await client.post(webhook_url, data=dict(form), headers=headers)
    logger.debug(f"webhook {webhook_url} -> HTTP {resp.status_code}")
    return parse_twiml(resp.text, resp.status_code)
