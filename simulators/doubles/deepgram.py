"""Deepgram live transcription double: ``GET /v1/listen`` (websocket)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from loguru import logger

from simulators.doubles.asr import Hypothesis, punctuate, shown_words
from simulators.doubles.stt_session import StreamingSTTSession

MODEL_UUID = "1b2ad9a5-73a6-4d8e-b3a8-3d3b3f0d2c11"
MODEL_INFO = {"name": "general-nova-3", "version": "2025-04-17.21547", "arch": "nova-3"}
IDLE_REASON = "Deepgram did not receive audio data or a text message within the timeout window."


class DeepgramSession(StreamingSTTSession):
    """Speaks Deepgram's listen v1 streaming protocol."""

    def __init__(self, *args: Any, request_id: str, query: dict[str, str], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.request_id = request_id
        self.punctuate = query.get("punctuate", "false") == "true" or (
            query.get("smart_format", "false") == "true"
        )
        self.interim_results = query.get("interim_results", "false") == "true"
        self.vad_events = query.get("vad_events", "false") == "true"
        self.channels = int(query.get("channels", "1"))
        self.language = query.get("language", "en")

    def render(self, hyp: Hypothesis, seg_start: float, seg_end: float, kind: str) -> dict | None:
        """Render a ``Results`` message."""
        if kind == "interim" and not self.interim_results:
            return None
        start = self.window_start
        if hyp.punctuated:  # text-exact mode: the registered text goes out as it is
            transcript, shown = hyp.text, shown_words(hyp)
        elif self.punctuate:
            transcript, shown = punctuate(hyp.text), shown_words(hyp)
        else:
            transcript, shown = hyp.text, [w for w, _, _ in hyp.words]
        words = [
            {
                "word": w,
                "start": s,
                "end": e,
                "confidence": round(hyp.confidence, 4),
                "punctuated_word": shown[i],
            }
            for i, (w, s, e) in enumerate(self.words(hyp, seg_start))
        ]
        return {
            "type": "Results",
            "channel_index": [0, self.channels],
            "duration": round(max(0.0, seg_end - start), 3),
            "start": round(start, 3),
            "is_final": kind != "interim",
            "speech_final": kind in ("endpoint", "close"),
            "from_finalize": kind == "finalize",
            "channel": {
                "alternatives": [
                    {
                        "transcript": transcript,
                        "confidence": round(hyp.confidence, 4) if hyp.text else 0.0,
                        "words": words,
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_info": MODEL_INFO,
                "model_uuid": MODEL_UUID,
            },
        }

    async def on_speech_started(self) -> None:
        """Send ``SpeechStarted`` when the client asked for VAD events."""
        if self.vad_events:
            await self.send(
                {"type": "SpeechStarted", "channel": [0], "timestamp": round(self.seg.now, 3)}
            )

    async def on_text(self, text: str) -> bool:
        """Handle KeepAlive, Finalize and CloseStream."""
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "KeepAlive":
            self.state.count("deepgram", "keepalive")
        elif kind == "Finalize":
            self.state.count("deepgram", "finalize")
            self.schedule_final("finalize")
        elif kind == "CloseStream":
            self.state.count("deepgram", "close_stream")
            self.schedule_final("close", delay_ms=0)
            await self.drain()
            await self.send(self.metadata())
            await self.ws.close(code=1000, message=b"")
            return False
        else:
            logger.warning(f"deepgram: unknown control message {text[:80]!r}")
        return True

    def metadata(self) -> dict[str, Any]:
        """Render the ``Metadata`` message sent before closing."""
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": hashlib.sha256(self.request_id.encode()).hexdigest(),
            "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "duration": round(self.seg.now, 3),
            "channels": self.channels,
            "models": [MODEL_UUID],
            "model_info": {MODEL_UUID: MODEL_INFO},
        }

    async def watchdog(self) -> None:
        """Close with 1011 (NET-0001) after the idle timeout without audio or messages."""
        while not self.ws.closed:
            await asyncio.sleep(0.25)
            idle = time.monotonic() - self.last_activity
            if idle >= self.state.profile.stt_idle_timeout_s:
                self.state.count("deepgram", "idle_timeouts")
                logger.info(f"deepgram: closing idle socket after {idle:.1f}s (NET-0001)")
                await self.ws.close(code=1011, message=IDLE_REASON.encode())
                return


async def listen(request: web.Request) -> web.StreamResponse:
    """Handle ``/v1/listen``: authenticate, validate the query and run a session."""
    state = request.app["state"]
    request_id = str(uuid.uuid4())
    if state.refusing("deepgram"):  # a scripted outage: the handshake fails as Deepgram's 503
        state.count("deepgram", "refused")
        return web.json_response(
            {"err_code": "SERVICE_UNAVAILABLE", "err_msg": "Service unavailable.",
             "request_id": request_id},
            status=503,
            headers={"dg-request-id": request_id},
        )
    auth = request.headers.get("Authorization", "")
    if auth not in (f"Token {state.creds.deepgram_key}", f"token {state.creds.deepgram_key}"):
        state.count("deepgram", "auth_failures")
        return web.json_response(
            {
                "err_code": "INVALID_AUTH",
                "err_msg": "Invalid credentials.",
                "request_id": request_id,
            },
            status=401,
            headers={"dg-request-id": request_id},
        )
    q = dict(request.query)
    encoding = q.get("encoding", "linear16")
    if encoding not in ("linear16", "mulaw") or not q.get("sample_rate", "").isdigit():
        return web.json_response(
            {
                "err_code": "Bad Request",
                "err_msg": "Bad Request: encoding must be linear16 or mulaw with a sample_rate.",
                "request_id": request_id,
            },
            status=400,
            headers={"dg-request-id": request_id},
        )
    endpointing = q.get("endpointing")
    if endpointing and endpointing.isdigit():
        endpoint_ms = max(20, int(endpointing))
    else:
        endpoint_ms = state.profile.stt_endpointing_ms
    ws = web.WebSocketResponse()
    ws.headers["dg-request-id"] = request_id
    await ws.prepare(request)
    if ws.compress:  # the client offered permessage-deflate and we (like aiohttp) accepted
        state.count("deepgram", "deflate_sockets")
    session = DeepgramSession(
        ws,
        state,
        request.app["recognizer"],
        "deepgram",
        int(q["sample_rate"]),
        encoding,
        endpoint_ms,
        exact=request.app["exact_recognizer"],
        request_id=request_id,
        query=q,
    )
    with state.track_socket("deepgram", ws, busy=lambda: session.seg.in_speech):
        watchdog = asyncio.create_task(session.watchdog())
        try:
            await session.run()
        finally:
            watchdog.cancel()
            if not ws.closed:
                await ws.close()
    return ws
