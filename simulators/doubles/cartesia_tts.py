"""Cartesia TTS double: ``GET /tts/websocket`` with contexts, chunks and timestamps."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from loguru import logger

from simulators.doubles.audio import Synthesizer, encode
from simulators.doubles.auth import cartesia_auth_error
from simulators.doubles.config import DoublesState

CHUNK_S = 0.1
ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw")


@dataclass
class Context:
    """Server-side state of one Cartesia context."""

    context_id: str
    sample_rate: int
    encoding: str
    timestamps: bool
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    offset: float = 0.0
    task: asyncio.Task | None = None
    ordinal: int = 0  # the connection's ``contexts`` count when it opened (for scripted drops)
    audio_sent: int = 0


class CartesiaTTSConnection:
    """One ``/tts/websocket`` connection and its contexts."""

    def __init__(self, ws: web.WebSocketResponse, state: DoublesState, synth: Synthesizer) -> None:
        self.ws = ws
        self.state = state
        self.synth = synth
        self.contexts: dict[str, Context] = {}
        self._lock = asyncio.Lock()
        self._dropping: asyncio.Task | None = None

    async def send(self, msg: dict[str, Any]) -> None:
        """Send one JSON message if the socket is open."""
        async with self._lock:
            if not self.ws.closed and self._dropping is None:
                await self.ws.send_str(json.dumps(msg))

    async def error(self, context_id: str, message: str) -> None:
        """Send an ``error`` message for a context."""
        await self.send(
            {
                "type": "error",
                "context_id": context_id,
                "status_code": 400,
                "done": True,
                "error": message,
            }
        )

    async def run(self) -> None:
        """Serve the socket until it closes."""
        try:
            async for msg in self.ws:
                if msg.type == web.WSMsgType.TEXT:
                    await self.on_message(msg.data)
                elif msg.type == web.WSMsgType.ERROR:
                    break
        finally:
            for ctx in self.contexts.values():
                if ctx.task:
                    ctx.task.cancel()

    async def on_message(self, text: str) -> None:
        """Dispatch one generation request or cancel."""
        try:
            req = json.loads(text)
        except ValueError:
            await self.error("", "invalid JSON")
            return
        context_id = str(req.get("context_id") or "")
        if req.get("cancel"):
            self.state.count("cartesia_tts", "cancel")
            ctx = self.contexts.pop(context_id, None)
            if ctx and ctx.task:
                ctx.task.cancel()
            return
        ctx = self.contexts.get(context_id)
        if ctx is None:
            fmt = req.get("output_format") or {}
            voice = req.get("voice") or {}
            problem = None
            if not req.get("model_id"):
                problem = "model_id is required"
            elif voice.get("mode") != "id" or not voice.get("id"):
                problem = "voice must be {'mode': 'id', 'id': ...}"
            elif fmt.get("container") != "raw" or fmt.get("encoding") not in ENCODINGS:
                problem = f"output_format must be raw with encoding in {ENCODINGS}"
            elif not isinstance(fmt.get("sample_rate"), int):
                problem = "output_format.sample_rate is required"
            if problem:
                await self.error(context_id, problem)
                return
            ctx = Context(
                context_id, fmt["sample_rate"], fmt["encoding"], bool(req.get("add_timestamps"))
            )
            self.contexts[context_id] = ctx
            self.state.count("cartesia_tts", "contexts")
            ctx.ordinal = self.state.counters["cartesia_tts"]["contexts"]
            ctx.task = asyncio.create_task(self.generate(ctx))
            self.state.tts_requests.append(
                {"service": "cartesia", "voice": voice["id"], "time": time.time()}
            )
        transcript = req.get("transcript") or ""
        now = time.monotonic()
        if transcript.strip():
            ctx.queue.put_nowait(("text", transcript, now))
        if req.get("flush"):
            ctx.queue.put_nowait(("flush", "", now))
        if not req.get("continue"):
            ctx.queue.put_nowait(("end", "", now))

    async def generate(self, ctx: Context) -> None:
        """Synthesize a context's transcripts in order, paced faster than real time."""
        flush_id = 0
        while True:
            kind, text, received = await ctx.queue.get()
            if kind == "flush":
                flush_id += 1
                await self.send(
                    {
                        "type": "flush_done",
                        "context_id": ctx.context_id,
                        "flush_id": flush_id,
                        "flush_done": True,
                        "done": False,
                        "status_code": 206,
                    }
                )
            elif kind == "end":
                await self.send(
                    {"type": "done", "context_id": ctx.context_id, "done": True, "status_code": 206}
                )
                self.contexts.pop(ctx.context_id, None)
                return
            else:
                await self.speak(ctx, text, received, flush_id)

    async def speak(self, ctx: Context, text: str, received: float, flush_id: int) -> None:
        """Send one transcript's audio chunks and cumulative word timestamps."""
        profile = self.state.profile
        clip = await self.synth.synth(text, ctx.sample_rate)
        await asyncio.sleep(
            max(0.0, received + profile.tts_first_byte_ms / 1000 - time.monotonic())
        )
        step = max(1, int(ctx.sample_rate * CHUNK_S))
        for i, start in enumerate(range(0, len(clip.pcm), step)):
            piece = clip.pcm[start : start + step]
            await self.send(
                {
                    "type": "chunk",
                    "context_id": ctx.context_id,
                    "data": base64.b64encode(encode(piece, ctx.encoding)).decode(),
                    "done": False,
                    "status_code": 206,
                    "step_time": round(len(piece) / ctx.sample_rate * 1000 / profile.tts_speed, 1),
                    "flush_id": flush_id,
                }
            )
            self.state.count("cartesia_tts", "chunks")
            ctx.audio_sent += 1
            drop = self.state.drop_due("cartesia_tts", ctx.ordinal, ctx.audio_sent)
            if drop is not None:
                logger.info(f"cartesia_tts: scripted drop {drop['code']} {drop['reason']!r}")
                ws, code, reason = self.ws, drop["code"], drop["reason"].encode()
                self._dropping = asyncio.create_task(ws.close(code=code, message=reason))
                return
            if i == 0 and ctx.timestamps and clip.words:
                await self.send(
                    {
                        "type": "timestamps",
                        "context_id": ctx.context_id,
                        "done": False,
                        "status_code": 206,
                        "word_timestamps": {
                            "words": [w for w, _, _ in clip.words],
                            "start": [round(ctx.offset + s, 3) for _, s, _ in clip.words],
                            "end": [round(ctx.offset + e, 3) for _, _, e in clip.words],
                        },
                    }
                )
            await asyncio.sleep(len(piece) / ctx.sample_rate / profile.tts_speed)
        ctx.offset += clip.duration


async def tts_websocket(request: web.Request) -> web.StreamResponse:
    """Handle ``/tts/websocket``."""
    state = request.app["state"]
    if state.refusing("cartesia_tts"):  # a scripted outage: the handshake fails with a 503
        state.count("cartesia_tts", "refused")
        return web.json_response({"error": "Service unavailable"}, status=503)
    error = cartesia_auth_error(request, state)
    if error is not None:
        state.count("cartesia_tts", "auth_failures")
        return error
    ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    conn = CartesiaTTSConnection(ws, state, request.app["synth"])
    with state.track_socket("cartesia_tts", ws):
        try:
            await conn.run()
        except Exception as exc:  # noqa: BLE001 - a double must not crash the server
            logger.exception(f"cartesia_tts: {exc}")
        finally:
            if not ws.closed:
                await ws.close()
    return ws
