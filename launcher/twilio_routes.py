"""Phone: Twilio's voice webhook (TwiML), the media-stream websocket and status callbacks.

Every webhook is checked against ``X-Twilio-Signature`` when ``TWILIO_AUTH_TOKEN`` is set, and
every media stream must carry the signed one-use token its voice webhook issued.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import Response
from loguru import logger

from assembly.call import new_call_id
from bots import UnknownPersonaError, get_persona
from config import Settings, ws_url
from launcher.auth import require_api_key
from launcher.client_limits import limit_webhooks
from launcher.media_stream import media_tokens, serve_stream
from launcher.media_tokens import TOKEN_PARAM
from launcher.metrics import count_refusal
from launcher.readiness import problems_of
from launcher.twilio_signature import require_twilio_signature
from launcher.twilio_status import call_statuses
from runner.base import CallRefused

router = APIRouter()

NOT_CONFIGURED = "Sorry, this number is not configured. Goodbye."
NOT_READY = "Sorry, we cannot take calls on this line right now. Please try again later. Goodbye."
APOLOGIES = {
    "full": "Sorry, all our lines are busy right now. Please call again in a few minutes. Goodbye.",
    "draining": "Sorry, we cannot take your call right now. Please call again shortly. Goodbye.",
}


def masked(number: str | None) -> str:
    """A phone number for logs: only its last four digits."""
    return f"…{number[-4:]}" if number else "-"


async def _admit(request: Request, call_id: str) -> tuple[CallRefused | None, str]:
    """Admit a call here, or (with a fleet) on the host with the most free slots.

    Returns:
        Why it is refused (or None), and the public URL of the host that will run it.
    """
    settings: Settings = request.app.state.settings
    fleet = request.app.state.fleet
    if fleet is None:
        return request.app.state.runner.admission(), settings.public_url
    try:
        slot = await fleet.reserve(call_id)
    except Exception as exc:  # Redis unreachable: this host still takes calls it has room for
        logger.error(f"fleet admission failed ({type(exc).__name__}: {exc}); admitting locally")
        return request.app.state.runner.admission(), settings.public_url
    if slot is None:
        return CallRefused("full", retry_after=5), settings.public_url
    return None, slot.url


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
    parameters = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in params.items() if v
    )
    hold = f'<Pause length="{hold_secs}"/>' if hold_secs > 0 else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
        f"<Stream url={quoteattr(stream_url)}>{parameters}</Stream>"
        f"</Connect>{hold}</Response>"
    )


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
    params = {"persona": persona, "call_id": call_id, **params}
    identity = {k: v for k, v in params.items() if v and k not in ("call_id", "persona")}
    params[TOKEN_PARAM] = media_tokens(app).issue(call_id, persona, identity)
    return twiml_stream(base_url, params, rescue_hold_secs(app))


def rescue_hold_secs(app: Any) -> int:
    """Seconds Twilio holds a call whose stream broke (0 without a fleet: nobody rescues it)."""
    if app.state.fleet is None:
        return 0
    settings: Settings = app.state.settings
    return int(settings.fleet_host_ttl_secs + 3 * settings.fleet_heartbeat_secs) + 5


def twiml_apology(message: str) -> str:
    """Valid TwiML the caller hears instead of Twilio's generic application error."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Say>{escape(message)}</Say><Hangup/></Response>"
    )


def _xml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


@router.post(
    "/twilio/voice",
    dependencies=[Depends(limit_webhooks), Depends(require_twilio_signature)],
)
async def voice_webhook(request: Request) -> Response:
    """A call comes in (or an outbound call is answered): choose the persona, stream the audio."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    call_sid, caller, called = (str(form.get(k) or "") for k in ("CallSid", "From", "To"))
    name = request.query_params.get("persona") or settings.phone_personas.get(called)
    name = name or settings.default_persona
    try:
        persona = get_persona(name)
    except UnknownPersonaError:
        logger.warning(f"twilio voice {call_sid or '-'} to {masked(called)}: unknown persona")
        count_refusal(request.app, "twilio", "not_configured")
        return _xml(twiml_apology(NOT_CONFIGURED))
    if problems := problems_of(request.app, persona.name):
        logger.error(
            f"twilio voice {call_sid or '-'}: {persona.name} cannot take calls: "
            f"{'; '.join(problems)}"
        )
        count_refusal(request.app, "twilio", "not_ready")
        return _xml(twiml_apology(NOT_READY))
    statuses = call_statuses(request.app)
    call_id = statuses.pending_call_id(call_sid) or new_call_id()
    refused, base_url = await _admit(request, call_id)
    if refused is not None:
        logger.warning(
            f"twilio voice {call_sid or '-'} from {masked(caller)}: refused, launcher is "
            f"{refused.reason}"
        )
        count_refusal(request.app, "twilio", refused.reason)
        return _xml(twiml_apology(APOLOGIES.get(refused.reason, APOLOGIES["draining"])))
    statuses.link(call_sid, call_id, persona=persona.name)
    params = {
        "from_number": caller,
        "to_number": called,
        "tenant": request.query_params.get("tenant", ""),  # ?tenant= on the webhook URL
    }
    logger.info(f"twilio voice {call_sid or '-'} from {masked(caller)}: {persona.name} {call_id}")
    return _xml(stream_answer(request.app, base_url, call_id, persona.name, params))


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
