"""Phone: the voice webhook and media stream of every carrier beside Twilio, on one code path.

``POST /{carrier}/voice`` (``signalwire``, ``telnyx``, ``plivo``): the signature is checked
(refused in production when the carrier's key is not set), the persona comes from
``?persona=`` or the called number (``PHONE_PERSONAS``), the call is admitted (locally or on a
fleet's host), and the carrier's XML connects the call to ``/{carrier}/media/{call_id}`` with a
one-use media token. The differences between carriers are ``launcher.carriers.CARRIERS``.

Not for these carriers (Twilio only): the host-crash rescue of a fleet (``<Pause>`` hold and
``resumed_from``), and status callbacks.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import Response
from loguru import logger

from assembly.call import new_call_id
from config import Settings, ws_url
from launcher.admission import PhoneCall, admit_phone_call, with_media_token
from launcher.carriers import CARRIERS, Carrier, signed_request
from launcher.client_limits import limit_webhooks
from launcher.media_stream import close_stream, serve_stream
from launcher.twilio_signature import public_request_urls
from transports.carrier_rest import dial_xml

router = APIRouter()
_STREAM_QUERY = re.compile(r"^(/(?:telnyx|plivo)/media/[^?\s]*)\?\S*")


class RedactStreamQueries(logging.Filter):
    """Keeps Telnyx and Plivo stream URLs' query (token, numbers) out of uvicorn's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a ``"WebSocket /telnyx/media/<id>?..."`` argument; never drops a record."""
        if isinstance(record.args, tuple) and any(isinstance(a, str) for a in record.args):
            record.args = tuple(
                _STREAM_QUERY.sub(r"\1?[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


logging.getLogger("uvicorn.error").addFilter(RedactStreamQueries())  # websocket accept lines

_warned_unsigned: set[str] = set()
_E164 = re.compile(r"\+?[0-9]{3,15}")


def carrier_of(name: str) -> Carrier:
    """The carrier named in the path.

    Raises:
        HTTPException: 404 for a name that is not a carrier.
    """
    carrier = CARRIERS.get(name)
    if carrier is None:
        raise HTTPException(status_code=404, detail=f"unknown carrier {name!r}")
    return carrier


async def require_carrier_signature(carrier: str, request: Request) -> None:
    """FastAPI dependency: the carrier's webhook signature, checked when its key is set.

    Raises:
        HTTPException: 404 for an unknown carrier; 403 when the signature is missing or wrong,
            or (in production) when the carrier's key is not set.
    """
    spec = carrier_of(carrier)
    settings: Settings = request.app.state.settings
    key = spec.secret(settings)
    if not key:
        if settings.env == "production":  # unsigned phone webhooks are never trusted there
            detail = f"{spec.title} calls are off: {spec.secret_env} is not set"
            raise HTTPException(status_code=403, detail=detail)
        if spec.name not in _warned_unsigned:
            _warned_unsigned.add(spec.name)
            logger.warning(f"{spec.secret_env} is not set: {spec.title} signatures not checked")
        return
    signed = await signed_request(request, public_request_urls(settings, request))
    if not spec.verify(key, signed):
        logger.warning(f"{spec.name} webhook {request.url.path}: bad signature (403)")
        raise HTTPException(status_code=403, detail=f"bad {spec.title} signature")


def _xml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


def carrier_answer(app: object, spec: Carrier, call: PhoneCall) -> str:
    """The carrier's XML that streams an admitted call to its host, with its media token."""
    params = with_media_token(app, call.call_id, call.persona, call.params)
    url = f"{ws_url(call.base_url, 'PUBLIC_URL')}/{spec.name}/media/{call.call_id}"
    return spec.stream(url, params)


@router.post(
    "/{carrier}/voice",
    dependencies=[Depends(limit_webhooks), Depends(require_carrier_signature)],
)
async def carrier_voice(carrier: str, request: Request) -> Response:
    """A call comes in at ``carrier``: choose the persona, stream the audio."""
    spec = carrier_of(carrier)
    form = await request.form()
    sid, caller, called = (
        str(form.get(k) or "") for k in (spec.call_field, spec.from_field, spec.to_field)
    )
    call = await admit_phone_call(request, carrier, sid, caller, called, new_call_id())
    if isinstance(call, str):
        return _xml(spec.apology(call))
    return _xml(carrier_answer(request.app, spec, call))


@router.websocket("/{carrier}/media/{call_id}")
async def carrier_media(websocket: WebSocket, carrier: str, call_id: str) -> None:
    """A carrier's media stream for one call (handed to its worker first, if any)."""
    spec = CARRIERS.get(carrier)
    if spec is None:
        await websocket.accept()
        await close_stream(websocket, 1008, "unknown carrier")
        return
    await serve_stream(websocket, call_id, spec.name)


@router.api_route("/plivo/dial", methods=["GET", "POST"])
async def plivo_dial(to: str, say: str = "") -> Response:
    """Plivo XML that says ``say`` and dials ``to``: where a Plivo transfer sends the caller."""
    if not _E164.fullmatch(to) or len(say) > 500:
        raise HTTPException(status_code=400, detail="to must be a phone number")
    return _xml(dial_xml(to, say or None, plivo=True))
