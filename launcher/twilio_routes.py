"""Phone: Twilio's voice webhook (TwiML) and the media-stream websocket."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from loguru import logger
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.runner.utils import parse_telephony_websocket

from assembly.call import new_call_id
from bots import UnknownPersonaError, get_persona
from config import Settings, ws_url

router = APIRouter()


def twiml_stream(settings: Settings, params: dict[str, str]) -> str:
    """TwiML that connects the call's audio to our media websocket."""
    stream_url = f"{ws_url(settings.public_url, 'PUBLIC_URL')}/twilio/media"
    parameters = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in params.items() if v
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
        f"<Stream url={quoteattr(stream_url)}>{parameters}</Stream>"
        "</Connect></Response>"
    )


def twiml_apology(message: str) -> str:
    """Valid TwiML the caller hears instead of Twilio's generic application error."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Say>{message}</Say><Hangup/></Response>"
    )


def _xml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


@router.post("/twilio/voice")
async def voice_webhook(request: Request) -> Response:
    """A call comes in: choose the persona and stream the audio to us."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    called = str(form.get("To") or "")
    name = request.query_params.get("persona") or settings.phone_personas.get(called)
    name = name or settings.default_persona
    try:
        get_persona(name)
    except UnknownPersonaError as exc:
        logger.warning(f"twilio voice webhook: {exc}")
        return _xml(twiml_apology("Sorry, this number is not configured. Goodbye."))
    params = {
        "persona": name,
        "call_id": new_call_id(),
        "from_number": str(form.get("From") or ""),
        "to_number": called,
    }
    return _xml(twiml_stream(settings, params))


@router.websocket("/twilio/media")
async def media_stream(websocket: WebSocket) -> None:
    """Twilio's media stream: read ``start``, then run the persona's call on this socket."""
    await websocket.accept()
    _, call_data = await parse_telephony_websocket(websocket)
    params = call_data.body or {}
    try:
        persona = get_persona(str(params.get("persona") or ""))
    except UnknownPersonaError as exc:
        logger.warning(f"twilio media stream refused: {exc}")
        await websocket.close(code=1008)
        return
    runner = websocket.app.state.runner
    active = await runner.start(persona, WebSocketRunnerArguments(websocket=websocket))
    await runner.wait(active.call_id)
