"""Cartesia streaming STT double: ``GET /stt/websocket``."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from loguru import logger

from simulators.doubles.asr import Hypothesis, display_text, shown_words
from simulators.doubles.auth import cartesia_auth_error
from simulators.doubles.stt_session import StreamingSTTSession

ENCODINGS = {"pcm_s16le": "pcm_s16le", "pcm_mulaw": "pcm_mulaw"}


class CartesiaSTTSession(StreamingSTTSession):
    """Speaks Cartesia's ``/stt/websocket`` protocol (ink-whisper)."""

    def __init__(self, *args: Any, request_id: str, language: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.request_id = request_id
        self.language = language

    def render(self, hyp: Hypothesis, seg_start: float, seg_end: float, kind: str) -> dict | None:
        """Render a ``transcript`` message."""
        if kind != "interim" and not hyp.text:
            return None
        # Text-exact mode sends the registered words as written; ASR mode its lowercase words.
        shown = shown_words(hyp) if hyp.punctuated else [w for w, _, _ in hyp.words]
        return {
            "type": "transcript",
            "request_id": self.request_id,
            "text": display_text(hyp),
            "is_final": kind != "interim",
            "duration": round(max(0.0, seg_end - seg_start), 3),
            "language": self.language,
            "words": [
                {"word": shown[i], "start": s, "end": e}
                for i, (_, s, e) in enumerate(self.words(hyp, seg_start))
            ],
        }

    async def on_text(self, text: str) -> bool:
        """Handle the ``finalize`` and ``done`` commands."""
        command = text.strip()
        if command == "finalize":
            self.state.count("cartesia_stt", "finalize")
            self.schedule_final("finalize")
            await self.drain()
            await self.send({"type": "flush_done", "request_id": self.request_id})
        elif command == "done":
            self.state.count("cartesia_stt", "done")
            self.schedule_final("close", delay_ms=0)
            await self.drain()
            await self.send({"type": "done", "request_id": self.request_id})
            await self.ws.close(code=1000)
            return False
        else:
            logger.warning(f"cartesia_stt: unknown command {command[:40]!r}")
            await self.send(
                {
                    "type": "error",
                    "request_id": self.request_id,
                    "message": f"unknown command: {command[:40]}",
                }
            )
        return True


async def stt_websocket(request: web.Request) -> web.StreamResponse:
    """Handle ``/stt/websocket``: authenticate, validate and run a session."""
    state = request.app["state"]
    error = cartesia_auth_error(request, state)
    if error is not None:
        state.count("cartesia_stt", "auth_failures")
        return error
    q = request.query
    encoding = q.get("encoding", "")
    if encoding not in ENCODINGS or not q.get("sample_rate", "").isdigit() or not q.get("model"):
        return web.json_response(
            {"error": "model, encoding (pcm_s16le|pcm_mulaw) and sample_rate are required"},
            status=400,
        )
    silence = q.get("max_silence_duration_secs")
    endpoint_ms = int(float(silence) * 1000) if silence else state.profile.stt_endpointing_ms
    request_id = str(uuid.uuid4())
    ws = web.WebSocketResponse()
    ws.headers["X-Request-ID"] = request_id
    await ws.prepare(request)
    session = CartesiaSTTSession(
        ws,
        state,
        request.app["recognizer"],
        "cartesia_stt",
        int(q["sample_rate"]),
        ENCODINGS[encoding],
        endpoint_ms,
        exact=request.app["exact_recognizer"],
        request_id=request_id,
        language=q.get("language", "en"),
    )
    with state.track_socket("cartesia_stt"):
        try:
            await session.run()
        finally:
            if not ws.closed:
                await ws.close()
    return ws
