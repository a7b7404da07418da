"""Phone: Twilio's voice webhook (TwiML), the media-stream websocket and status callbacks.

Every webhook is checked against ``X-Twilio-Signature`` when ``TWILIO_AUTH_TOKEN`` is set, and
every media stream must carry the signed one-use token its voice webhook issued.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import Response
from loguru import logger

from assembly.call import new_call_id
from config import Settings, ws_url
from launcher.admission import admit_phone_call, with_media_token
from launcher.auth import require_api_key
from launcher.carriers import laml_stream, say_hangup
from launcher.client_limits import limit_webhooks
from launcher.media_stream import serve_stream
from launcher.twilio_signature import require_twilio_signature
from launcher.twilio_status import call_statuses

router = APIRouter()



def twiml_stream(base_url: str, params: dict[str, str], hold_secs: int = 0) -> str:
    """TwiML that connects the call's audio to our media websocket (its URL names the call).

    Args:
        base_url: The public URL of the host that will run the call.
        params: The stream's custom parameters (``call_id`` among them).
        hold_secs: In a fleet, how long Twilio keeps the line after the stream breaks (its
            host died) without our hang-up: time for another host to take the call over
            (``launcher.call_rescue``). A call that ends normally is hung up over REST first.
    """
    stream_url = f"{ws_url(base_url, 'PUBLIC_URL')}/twilio/media/{params['call_id']}"
    return laml_stream(stream_url, params, hold_secs)


def stream_answer(
    app: Any, base_url: str, call_id: str, persona: str, params: dict[str, str]
) -> str:
    """The TwiML that streams ``call_id`` to the host at ``base_url``, with its media token.

    Args:
        app: The launcher app (its media tokens, fleet and settings).
        base_url: The public URL of the host that will run the call.
        call_id: Our id for the call.
        persona: The persona that answers.
        params: The other stream parameters (numbers, tenant, ``resumed_from``...).
    """
    params = with_media_token(app, call_id, persona, params)
    return twiml_stream(base_url, params, rescue_hold_secs(app))


def rescue_hold_secs(app: Any) -> int:
    """Seconds Twilio holds a call whose stream broke (0 without a fleet: nobody rescues it)."""
    if app.state.fleet is None:
        return 0
    settings: Settings = app.state.settings
    return int(settings.fleet_host_ttl_secs + 3 * settings.fleet_heartbeat_secs) + 5


twiml_apology = say_hangup  # valid TwiML the caller hears instead of Twilio's generic error


def _xml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


@router.post(
    "/twilio/voice",
    dependencies=[Depends(limit_webhooks), Depends(require_twilio_signature)],
)
async def voice_webhook(request: Request) -> Response:
    """A call comes in (or an outbound call is answered): choose the persona, stream the audio."""
    form = await request.form()
    call_sid, caller, called = (str(form.get(k) or "") for k in ("CallSid", "From", "To"))
    statuses = call_statuses(request.app)
    call_id = statuses.pending_call_id(call_sid) or new_call_id()
    call = await admit_phone_call(request, "twilio", call_sid, caller, called, call_id)
    if isinstance(call, str):
        return _xml(twiml_apology(call))
    statuses.link(call_sid, call_id, persona=call.persona)
    return _xml(stream_answer(request.app, call.base_url, call_id, call.persona, call.params))


@router.websocket("/twilio/media")
async def media_stream(websocket: WebSocket) -> None:
    """A media stream at the bare URL (clients built before streams carried their call id)."""
    await serve_stream(websocket, None)


@router.websocket("/twilio/media/{call_id}")
async def call_media_stream(websocket: WebSocket, call_id: str) -> None:
    """Twilio's media stream for one call (handed to its worker before it gets here, if any)."""
    await serve_stream(websocket, call_id)


@router.post(
    "/twilio/status",
    status_code=204,
    dependencies=[Depends(limit_webhooks), Depends(require_twilio_signature)],
)
async def status_callback(request: Request) -> Response:
    """Twilio's call-status callback: keep the latest status and its history per CallSid."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not fields.get("CallSid"):
        raise HTTPException(status_code=400, detail="status callback without CallSid")
    entry = call_statuses(request.app).record(fields)
    logger.info(
        f"twilio status {fields['CallSid']} ({entry.get('call_id') or '-'}): "
        f"{fields.get('CallStatus', '?')} duration={fields.get('CallDuration', '-')}"
    )
    return Response(status_code=204)


@router.get("/twilio/calls", dependencies=[Depends(require_api_key)])
async def twilio_calls(request: Request) -> list[dict[str, Any]]:
    """What Twilio reported about recent calls, most recently updated first."""
    return call_statuses(request.app).all()


@router.get("/twilio/calls/{call_sid}", dependencies=[Depends(require_api_key)])
async def twilio_call(call_sid: str, request: Request) -> dict[str, Any]:
    """What Twilio reported about one call (latest status and history)."""
    entry = call_statuses(request.app).get(call_sid)
    if entry is None:
        raise HTTPException(status_code=404, detail=f"no status recorded for {call_sid}")
    return entry
