"""Forwarding a call to a worker: the Twilio media relay, and following a call until it ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from pipecat.runner.utils import parse_telephony_websocket
from starlette.websockets import WebSocketDisconnect, WebSocketState
from websockets.exceptions import ConnectionClosed

from assembly.call import CallContext, new_call_id
from runner.workers import WorkerProcess
from transports.kinds import TransportKind


def _handshake(stream_sid: str, call_sid: str, params: dict[str, Any]) -> list[str]:
    """Twilio's ``connected`` and ``start`` messages, as the worker's transport expects them."""
    start = {
        "streamSid": stream_sid,
        "callSid": call_sid,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": params,
    }
    return [
        json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json.dumps(
            {"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": start}
        ),
    ]


async def relay_twilio(
    worker: WorkerProcess, persona: str, websocket: Any
) -> tuple[CallContext, asyncio.Task[None]]:
    """Open the worker's media socket for an accepted Twilio stream and relay both ways.

    The stream's ``start`` was read (and its media token removed) by the launcher's route; the
    worker gets the same handshake without the token, then every message as it arrives.
    """
    _kind, data = await parse_telephony_websocket(websocket)
    params = {k: v for k, v in dict(data.body or {}).items() if isinstance(v, str)}
    params["call_id"] = params.get("call_id") or new_call_id()
    upstream = await worker.media_socket(persona)
    for message in _handshake(data.stream_id or "", data.call_id or "", params):
        await upstream.send(message)
    ctx = CallContext(
        call_id=params["call_id"],
        persona=persona,
        transport=TransportKind.TWILIO,
        caller_number=params.get("from_number") or None,
        called_number=params.get("to_number") or None,
        provider_call_id=data.call_id,
    )
    return ctx, asyncio.create_task(_pump(websocket, upstream))


async def _pump(front: Any, upstream: Any) -> None:
    async def caller_to_worker() -> None:
        while True:
            message = await front.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])

    async def worker_to_caller() -> None:
        async for message in upstream:
            text = message if isinstance(message, str) else message.decode()
            await front.send_text(text)

    directions = [asyncio.create_task(caller_to_worker()), asyncio.create_task(worker_to_caller())]
    try:
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in directions:
            task.cancel()
        await asyncio.gather(*directions, return_exceptions=True)
        await upstream.close()
        if front.client_state != WebSocketState.DISCONNECTED:
            try:
                await front.close()
            except (RuntimeError, WebSocketDisconnect, ConnectionClosed):
                pass


async def watch_call(
    worker: WorkerProcess,
    call_id: str,
    appear_within: float = 5.0,
    every: float = 0.5,
    give_up_after: float | None = None,
) -> None:
    """Return once the worker reports the call finished (or the worker is gone).

    Args:
        worker: The worker running the call.
        call_id: The call.
        appear_within: Seconds the call may take to appear (a browser still connecting).
        every: Poll interval in seconds.
        give_up_after: Stop waiting after this many seconds (None: as long as it runs).
    """
    waited = 0.0
    while worker.alive():
        try:
            response: httpx.Response | None = await worker.http.get(f"/internal/calls/{call_id}")
        except httpx.HTTPError:  # a busy worker (a flood of offers) is not a finished call
            response = None
        if response is not None and response.status_code == 200:
            if not response.json().get("active", True):
                return
        elif response is not None and waited > appear_within:
            return  # never started (the browser did not connect)
        if give_up_after is not None and waited > give_up_after:
            return
        await asyncio.sleep(every)
        waited += every
