"""The phone carriers beside Twilio, and the one table of how they differ.

Every carrier takes the same path as Twilio (``launcher.carrier_routes``): its voice webhook is
signature-checked, the persona comes from the called number or ``?persona=``, the call is
admitted, and the answer connects the call to ``/{carrier}/media/{call_id}`` with a one-use
media token. What differs is in :data:`CARRIERS`:

| carrier    | answer       | signature                    | media (Pipecat)  | clear          |
|------------|--------------|------------------------------|------------------|----------------|
| SignalWire | LaML (TwiML) | ``X-SignalWire-Signature``   | Twilio's         | ``clear``      |
| Telnyx     | TeXML        | ``telnyx-signature-ed25519`` | Telnyx's         | ``clear``      |
| Plivo      | Plivo XML    | ``X-Plivo-Signature-V3``     | Plivo's          | ``clearAudio`` |

SignalWire's stream carries the token as a ``<Parameter>`` as Twilio's does. Telnyx and Plivo
streams carry no custom parameters that Pipecat's handshake parser keeps, so their stream URL
carries them in its query string (signed by the token, one use, short TTL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from fastapi import Request

from config import Settings
from launcher.carrier_signature import plivo_valid, signalwire_valid, telnyx_valid

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SignedRequest:
    """What a signature check needs of a webhook request."""

    urls: list[str]  # the URLs the carrier may have called (public bases)
    form: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str]  # lower-cased names


@dataclass(frozen=True)
class Carrier:
    """How one carrier differs from the others.

    Attributes:
        name: The path segment (``/{name}/voice``, ``/{name}/media/{call_id}``).
        title: For logs and errors.
        wire: The kind Pipecat's ``parse_telephony_websocket`` detects on its stream.
        call_field, from_field, to_field: The webhook's form fields for the call id and numbers.
        stream: The answer that connects the call: (stream URL, stream parameters) → XML.
        apology: The answer that says a message and hangs up.
        secret: The key its signatures are checked with (empty: not configured).
        secret_env: The variable that sets it (for the refusal message).
        verify: Checks a request's signature with the key.
        params_in_url: The stream's parameters travel in its URL's query string.
        clear_event: The message that flushes the caller's queued audio (barge-in).
    """

    name: str
    title: str
    wire: str
    call_field: str
    from_field: str
    to_field: str
    stream: Callable[[str, dict[str, str]], str]
    apology: Callable[[str], str]
    secret: Callable[[Settings], str]
    secret_env: str
    verify: Callable[[str, SignedRequest], bool]
    params_in_url: bool
    clear_event: str


def laml_stream(url: str, params: dict[str, str], hold_secs: int = 0) -> str:
    """TwiML (Twilio) or LaML (SignalWire) that connects the call's audio to ``url``.

    Args:
        url: The media websocket's URL (it names the call).
        params: The stream's custom parameters, sent as ``<Parameter>`` elements.
        hold_secs: How long the carrier keeps the line after the stream breaks, without our
            hang-up (Twilio in a fleet: time for another host to take the call over).
    """
    parameters = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in params.items() if v
    )
    hold = f'<Pause length="{hold_secs}"/>' if hold_secs > 0 else ""
    return (
        f"{XML_HEAD}<Response><Connect><Stream url={quoteattr(url)}>{parameters}</Stream>"
        f"</Connect>{hold}</Response>"
    )


def _texml_stream(url: str, params: dict[str, str]) -> str:
    url = f"{url}?{urlencode({k: v for k, v in params.items() if v})}"
    return (
        f"{XML_HEAD}<Response><Connect>"
        f'<Stream url={quoteattr(url)} bidirectionalMode="rtp" bidirectionalCodec="PCMU"/>'
        "</Connect></Response>"
    )


def _plivo_stream(url: str, params: dict[str, str]) -> str:
    url = f"{url}?{urlencode({k: v for k, v in params.items() if v})}"
    return (
        f'{XML_HEAD}<Response><Stream bidirectional="true" keepCallAlive="true" '
        f'contentType="audio/x-mulaw;rate=8000">{escape(url)}</Stream></Response>'
    )


def say_hangup(message: str) -> str:
    """TwiML, LaML or TeXML that says ``message`` and hangs up."""
    return f"{XML_HEAD}<Response><Say>{escape(message)}</Say><Hangup/></Response>"


def _speak_hangup(message: str) -> str:
    return f"{XML_HEAD}<Response><Speak>{escape(message)}</Speak><Hangup/></Response>"


def _verify_signalwire(key: str, req: SignedRequest) -> bool:
    signature = req.headers.get("x-signalwire-signature") or req.headers.get("x-twilio-signature")
    return any(signalwire_valid(key, url, req.form, signature) for url in req.urls)


def _verify_telnyx(key: str, req: SignedRequest) -> bool:
    signature = req.headers.get("telnyx-signature-ed25519")
    return telnyx_valid(key, req.body, signature, req.headers.get("telnyx-timestamp"))


def _verify_plivo(key: str, req: SignedRequest) -> bool:
    signature = req.headers.get("x-plivo-signature-v3")
    nonce = req.headers.get("x-plivo-signature-v3-nonce")
    return any(plivo_valid(key, url, req.form, signature, nonce) for url in req.urls)


CARRIERS: dict[str, Carrier] = {
    c.name: c
    for c in (
        Carrier(
            name="signalwire", title="SignalWire", wire="twilio",
            call_field="CallSid", from_field="From", to_field="To",
            stream=laml_stream, apology=say_hangup,
            secret=lambda s: _secret(s.signalwire_signing_key),
            secret_env="SIGNALWIRE_SIGNING_KEY", verify=_verify_signalwire,
            params_in_url=False, clear_event="clear",
        ),
        Carrier(
            name="telnyx", title="Telnyx", wire="telnyx",
            call_field="CallSid", from_field="From", to_field="To",
            stream=_texml_stream, apology=say_hangup,
            secret=lambda s: s.telnyx_public_key or "",
            secret_env="TELNYX_PUBLIC_KEY", verify=_verify_telnyx,
            params_in_url=True, clear_event="clear",
        ),
        Carrier(
            name="plivo", title="Plivo", wire="plivo",
            call_field="CallUUID", from_field="From", to_field="To",
            stream=_plivo_stream, apology=_speak_hangup,
            secret=lambda s: _secret(s.plivo_auth_token),
            secret_env="PLIVO_AUTH_TOKEN", verify=_verify_plivo,
            params_in_url=True, clear_event="clearAudio",
        ),
    )
}  # fmt: skip


async def signed_request(request: Request, urls: list[str]) -> SignedRequest:
    """Read what a signature check needs (Starlette caches the body and form for the route)."""
    body = await request.body()
    form = await request.form()
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    headers = {k.lower(): v for k, v in request.headers.items()}
    return SignedRequest(urls, pairs, body, headers)
