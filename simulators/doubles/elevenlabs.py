"""ElevenLabs multi-context websocket double.

``GET /v1/text-to-speech/{voice_id}/multi-stream-input``
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from loguru import logger

from simulators.doubles.audio import Clip, Synthesizer, encode
from simulators.doubles.config import DoublesState

PIECE_S = 0.25
FIRST_SCHEDULE_CHARS = 120


def parse_output_format(fmt: str) -> tuple[int, str] | None:
    """Map ``pcm_24000`` / ``ulaw_8000`` to ``(rate, encoding)``."""
    kind, _, rate = fmt.partition("_")
    if not rate.isdigit() or kind not in ("pcm", "ulaw"):
        return None
    if kind == "ulaw" and rate != "8000":
        return None
    return int(rate), "pcm_s16le" if kind == "pcm" else "pcm_mulaw"


def pieces(clip: Clip) -> list[tuple[float, float, list[tuple[str, float, float]]]]:
    """Split a clip into whole-word pieces of about ``PIECE_S``.

    Returns:
        ``(start_s, end_s, words)`` per piece; the pieces tile the whole clip.
    """
    groups: list[list[tuple[str, float, float]]] = [[]]
    for word in clip.words:
        if groups[-1] and word[1] - groups[-1][0][1] >= PIECE_S:
            groups.append([])
        groups[-1].append(word)
    out, start = [], 0.0
    for i, group in enumerate(groups):
        end = groups[i + 1][0][1] if i + 1 < len(groups) else clip.duration
        out.append((start, end, group))
        start = end
    return out


def alignment(start: float, end: float, words: list[tuple[str, float, float]]) -> dict[str, list]:
    """Character alignment of one piece, relative to its start, each word followed by a space."""
    chars: list[str] = []
    starts: list[int] = []
    durations: list[int] = []
    for i, (word, ws, we) in enumerate(words):
        nxt = words[i + 1][1] if i + 1 < len(words) else end
        per = max(we - ws, 0.001) / len(word)
        for j, ch in enumerate(word):
            chars.append(ch)
            starts.append(int(round((max(ws, start) - start + j * per) * 1000)))
            durations.append(max(1, int(round(per * 1000))))
        chars.append(" ")
        starts.append(int(round((we - start) * 1000)))
        durations.append(max(0, int(round((nxt - we) * 1000))))
    if starts:
        durations[-1] = max(0, int(round((end - start) * 1000)) - starts[-1])
    return {"chars": chars, "charStartTimesMs": starts, "charDurationsMs": durations}


@dataclass
class Context:
    """Server-side state of one ElevenLabs context."""

    context_id: str
    ordinal: int = 0  # the connection's ``contexts`` count when it opened (for scripted drops)
    audio_sent: int = 0
    buffer: str = ""
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    task: asyncio.Task | None = None


class ElevenLabsConnection:
    """One multi-stream-input websocket."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        state: DoublesState,
        synth: Synthesizer,
        rate: int,
        encoding: str,
        auto_mode: bool,
    ) -> None:
        self.ws = ws
        self.state = state
        self.synth = synth
        self.rate = rate
        self.encoding = encoding
        self.auto_mode = auto_mode
        self.contexts: dict[str, Context] = {}
        self.last_message = time.monotonic()
        self._lock = asyncio.Lock()
        self._dropping: asyncio.Task | None = None

    async def send(self, msg: dict[str, Any]) -> None:
        """Send one JSON message if the socket is open."""
        async with self._lock:
            if not self.ws.closed and self._dropping is None:
                await self.ws.send_str(json.dumps(msg))

    async def run(self, inactivity_s: float) -> None:
        """Serve the socket until it closes or goes quiet for ``inactivity_s``."""
        watchdog = asyncio.create_task(self._watchdog(inactivity_s))
        try:
            async for msg in self.ws:
                self.last_message = time.monotonic()
                if msg.type == web.WSMsgType.TEXT and not await self.on_message(msg.data):
                    break
        finally:
            watchdog.cancel()
            for ctx in self.contexts.values():
                if ctx.task:
                    ctx.task.cancel()

    async def _watchdog(self, inactivity_s: float) -> None:
        while not self.ws.closed:
            await asyncio.sleep(0.25)
            busy = any(not c.queue.empty() for c in self.contexts.values())
            if not busy and time.monotonic() - self.last_message > inactivity_s:
                self.state.count("elevenlabs", "inactivity_timeouts")
                reason = f"Have not received a new text input for {inactivity_s:g} seconds"
                await self.ws.close(code=1008, message=reason.encode())
                return

    def _context(self, context_id: str) -> Context:
        ctx = self.contexts.get(context_id)
        if ctx is None:
            self.state.count("elevenlabs", "contexts")
            ctx = Context(context_id, ordinal=self.state.counters["elevenlabs"]["contexts"])
            ctx.task = asyncio.create_task(self.generate(ctx))
            self.contexts[context_id] = ctx
        return ctx

    async def on_message(self, text: str) -> bool:
        """Handle text, flush, close_context, keepalive and close_socket messages."""
        try:
            req = json.loads(text)
        except ValueError:
            return True
        if req.get("close_socket"):
            self.state.count("elevenlabs", "close_socket")
            await self.ws.close(code=1000)
            return False
        context_id = str(req.get("context_id") or req.get("contextId") or "")
        now = time.monotonic()
        if req.get("close_context"):
            self.state.count("elevenlabs", "close_context")
            ctx = self.contexts.get(context_id)
            if ctx is not None:
                self._release(ctx, now)
                ctx.queue.put_nowait(("final", "", now))
            return True
        if req.get("text") == "" and not req.get("flush"):
            self.state.count("elevenlabs", "keepalive")
            return True
        ctx = self._context(context_id)
        ctx.buffer += req.get("text") or ""
        if req.get("flush"):
            self.state.count("elevenlabs", "flush")
            self._release(ctx, now)
        elif self.auto_mode and ctx.buffer.strip():
            self._release(ctx, now)
        elif len(ctx.buffer) >= FIRST_SCHEDULE_CHARS and " " in ctx.buffer.strip():
            head, _, tail = ctx.buffer.rstrip().rpartition(" ")
            ctx.queue.put_nowait(("text", head, now))
            ctx.buffer = tail
        return True

    def drop(self, code: int, reason: str) -> None:
        """Close the socket now, mid-context (a scripted fault): nothing more is sent.

        The close runs on a task of its own: closing ends :meth:`run`, which cancels the
        context tasks, this caller's among them.
        """
        logger.info(f"elevenlabs: scripted drop {code} {reason!r}")
        self._dropping = asyncio.create_task(self.ws.close(code=code, message=reason.encode()))

    @staticmethod
    def _release(ctx: Context, now: float) -> None:
        if ctx.buffer.strip():
            ctx.queue.put_nowait(("text", ctx.buffer.strip(), now))
        ctx.buffer = ""

    async def generate(self, ctx: Context) -> None:
        """Synthesize a context's text in order and finish with ``isFinal``."""
        while True:
            kind, text, received = await ctx.queue.get()
            if kind == "final":
                await self.send({"isFinal": True, "contextId": ctx.context_id})
                self.contexts.pop(ctx.context_id, None)
                return
            await self.speak(ctx, text, received)

    async def speak(self, ctx: Context, text: str, received: float) -> None:
        """Send audio messages with per-message character alignment."""
        profile = self.state.profile
        clip = await self.synth.synth(text, self.rate)
        await asyncio.sleep(
            max(0.0, received + profile.tts_first_byte_ms / 1000 - time.monotonic())
        )
        for start, end, words in pieces(clip):
            pcm = clip.pcm[int(start * self.rate) : int(end * self.rate)]
            align = alignment(start, end, words)
            await self.send(
                {
                    "audio": base64.b64encode(encode(pcm, self.encoding)).decode(),
                    "normalizedAlignment": align,
                    "alignment": align,
                    "contextId": ctx.context_id,
                }
            )
            self.state.count("elevenlabs", "audio_messages")
            ctx.audio_sent += 1
            drop = self.state.drop_due("elevenlabs", ctx.ordinal, ctx.audio_sent)
            if drop is not None:
                self.drop(drop["code"], drop["reason"])
                return
            await asyncio.sleep(len(pcm) / self.rate / profile.tts_speed)


async def multi_stream_input(request: web.Request) -> web.StreamResponse:
    """Handle ``/v1/text-to-speech/{voice_id}/multi-stream-input``."""
    state = request.app["state"]
    if state.refusing("elevenlabs"):  # a scripted outage: the handshake fails with a 503
        state.count("elevenlabs", "refused")
        return web.json_response(
            {"detail": {"status": "service_unavailable", "message": "Service unavailable"}},
            status=503,
        )
    if request.headers.get("xi-api-key") != state.creds.elevenlabs_key:
        state.count("elevenlabs", "auth_failures")
        return web.json_response(
            {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, status=401
        )
    q = request.query
    fmt = parse_output_format(q.get("output_format", "mp3_44100_128"))
    if fmt is None or not q.get("model_id"):
        return web.json_response(
            {"detail": {"status": "invalid_request", "message": "unsupported output_format"}},
            status=400,
        )
    inactivity = min(
        180.0, float(q.get("inactivity_timeout", state.profile.elevenlabs_inactivity_s))
    )
    ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    conn = ElevenLabsConnection(
        ws, state, request.app["synth"], fmt[0], fmt[1], q.get("auto_mode") == "true"
    )
    logger.debug(f"elevenlabs: voice={request.match_info['voice_id']} format={fmt}")
    state.tts_requests.append(
        {"service": "elevenlabs", "voice": request.match_info["voice_id"], "time": time.time()}
    )
    with state.track_socket("elevenlabs", ws, busy=lambda: bool(conn.contexts)):
        try:
            await conn.run(inactivity)
        except Exception as exc:  # noqa: BLE001 - a double must not crash the server
            logger.exception(f"elevenlabs: {exc}")
        finally:
            if not ws.closed:
                await ws.close()
    return ws
