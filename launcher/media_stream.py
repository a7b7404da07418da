"""Serving one Twilio media stream: check its start and token, then run the call on it.

The same code serves a stream in the launcher (calls in-process) and in the worker process a
stream was handed to (``launcher.front``): whichever process runs the call reads the stream.
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket
from loguru import logger
from pipecat.runner.types import WebSocketRunnerArguments
from starlette.websockets import WebSocketDisconnect, WebSocketState

from bots import UnknownPersonaError, get_persona
from launcher.media_handshake import HandshakeRefused, PendingStreams, read_start
from launcher.media_tokens import MediaTokenError, MediaTokens
from launcher.metrics import count_refusal
from runner.base import CallRefused

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
INTERNAL_ERROR = 1011


def media_tokens(app: FastAPI) -> MediaTokens:
    """The app's media-token issuer and checker (created on first use)."""
    tokens = getattr(app.state, "media_tokens", None)
    if tokens is None:
        tokens = app.state.media_tokens = MediaTokens.from_settings(app.state.settings)
    return tokens


def pending_streams(app: FastAPI) -> PendingStreams:
    """The app's count of media streams that have not shown their token yet."""
    pending = getattr(app.state, "pending_streams", None)
    if pending is None:
        limit = app.state.settings.media_unauthenticated_max
        pending = app.state.pending_streams = PendingStreams(limit)
    return pending


async def close_stream(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code, quietly if the peer is already gone."""
    if websocket.client_state != WebSocketState.DISCONNECTED:
        try:
            await websocket.close(code=code, reason=reason)
        except (RuntimeError, WebSocketDisconnect):
            pass  # the peer is already gone


async def serve_stream(
    websocket: WebSocket, url_call_id: str | None, carrier: str = "twilio"
) -> None:
    """Read ``start``, check its token (and the call id in the URL), run the persona's call.

    Args:
        websocket: The stream, not accepted yet.
        url_call_id: The call id in the stream URL (``/twilio/media/<call_id>``), if any: the
            stream must be for that call.
        carrier: Whose stream it is (``launcher.carriers.CARRIERS``, or ``twilio``).
    """
    from launcher.carriers import CARRIERS

    app = websocket.app
    runner = app.state.runner
    spec = CARRIERS.get(carrier)
    wire = spec.wire if spec else "twilio"
    url_params = None
    if spec is not None and spec.params_in_url:
        url_params = {**dict(websocket.query_params), "call_id": url_call_id or ""}
    await websocket.accept()
    try:
        with pending_streams(app).waiting():
            timeout = app.state.settings.media_handshake_timeout_secs
            start = await read_start(websocket, timeout, wire, url_params)
            media_tokens(app).consume(start.token, start.call_id, start.persona, start.identity)
            uses = getattr(app.state, "token_uses", None)  # a fleet: one use across all hosts
            if uses is not None and not await uses.claim(start.token):
                raise MediaTokenError("replayed")
            if url_call_id is not None and start.call_id != url_call_id:
                raise HandshakeRefused(POLICY_VIOLATION, "stream URL is for another call")
            persona = get_persona(start.persona)
    except (HandshakeRefused, MediaTokenError, UnknownPersonaError) as exc:
        code = exc.code if isinstance(exc, HandshakeRefused) else POLICY_VIOLATION
        logger.warning(f"{carrier} media stream refused ({code}): {exc}")
        runner.emit("refused", {"call_id": url_call_id})
        await close_stream(websocket, code, "stream not authorized")
        return
    try:
        args = WebSocketRunnerArguments(websocket=websocket)
        if spec is not None:  # the carrier, and the parameters its start does not carry
            stream = {"call_id": start.call_id, "persona": start.persona, **start.identity}
            args.body = {"carrier": spec.name, "stream_params": stream}
        active = await runner.start(persona, args)
    except CallRefused as exc:
        logger.warning(f"{carrier} media stream {start.call_id} refused: {exc.reason}")
        count_refusal(app, "twilio", exc.reason)
        runner.emit("refused", {"call_id": url_call_id})
        await close_stream(websocket, TRY_AGAIN_LATER, f"launcher is {exc.reason}")
        return
    except Exception:
        logger.exception(f"{carrier} media stream {start.call_id}: the call could not start")
        runner.emit("refused", {"call_id": url_call_id})
        await close_stream(websocket, INTERNAL_ERROR, "call could not start")
        return
    await runner.wait(active.call_id)
