"""A scripted fake voice bot speaking Twilio Media Streams, to test the simulated caller itself.

It behaves like a very simple Switchboard: a signed voice webhook that answers TwiML, and a
websocket that greets, detects the end of each caller utterance by energy, waits a fixed delay
and plays a fixed reply (optionally with an injected stall), sends ``clear`` on barge-in, sends a
``mark`` after each reply and can hang up. Because every delay is known, the caller's
measurements can be checked against the truth.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect

from simulators.callers.audio import frame_rms, mulaw_decode, mulaw_encode
from simulators.callers.twiml import twilio_signature

FRAME = 160  # 20 ms at 8 kHz


@dataclass
class FakeBotConfig:
    """Behaviour of the fake bot (all times in seconds).

    Attributes:
        greeting: 8 kHz PCM played ``greeting_delay`` after ``start`` (None: no greeting).
        reply: 8 kHz PCM played after each caller utterance.
        hangover: Caller silence that ends a caller utterance.
        reply_delay: Extra wait between detecting the end and the first reply frame.
        pace: Send speed relative to real time (Pipecat's websocket output sends at 2x).
        lead: Audio sent at once when a play starts, so scheduling jitter smaller than this
            does not starve the caller's buffer (a stall then causes a gap of ``stall - lead``).
        catch_up: After falling behind its clock (a stall of its loop), send the missed audio at
            once; False resumes at real time from now, like Pipecat's websocket output.
        stall_after: Pause sending this far into each reply, not the greeting (None: never)
        stall: ... for this long.
        barge_in_frames: Consecutive voiced caller frames during a reply that trigger ``clear``.
        hang_up_after_replies: Close the websocket after this many plays (greeting included)
            have finished playing. Marks are named "greeting", then "reply-<play number>".
        auth_token: Token checked on the webhook's ``X-Twilio-Signature``.
        blocked_numbers: Webhook callers refused with ``<Say>``/``<Hangup/>``.
    """

    greeting: np.ndarray | None = None
    greeting_delay: float = 0.3
    reply: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    hangover: float = 0.3
    reply_delay: float = 0.4
    pace: float = 1.0
    lead: float = 0.1
    catch_up: bool = True
    stall_after: float | None = None
    stall: float = 0.0
    barge_in_frames: int = 3
    hang_up_after_replies: int | None = None
    auth_token: str = "test-auth-token"
    blocked_numbers: tuple[str, ...] = ()


@dataclass
class FakeBotLog:
    """What the fake bot received: ``(monotonic time, event, message)`` and webhook calls."""

    received: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    webhooks: list[dict[str, str]] = field(default_factory=list)
    signature_ok: list[bool] = field(default_factory=list)
    sent_events: list[tuple[float, str]] = field(default_factory=list)


class _Session:
    def __init__(self, ws: WebSocket, cfg: FakeBotConfig, log: FakeBotLog):
        self.ws, self.cfg, self.log = ws, cfg, log
        self.stream_sid = ""
        self.voiced_run = 0
        self.silent_run = 0
        self.in_utterance = False
        self.speaking: asyncio.Task | None = None
        self.playout_end = 0.0
        self.replies = 0

    async def send(self, msg: dict) -> None:
        self.log.sent_events.append((time.monotonic(), msg["event"]))
        await self.ws.send_text(json.dumps(msg))

    async def play(self, pcm: np.ndarray, delay: float, mark: str, stall: bool) -> None:
        await asyncio.sleep(delay)
        interval = 0.02 / self.cfg.pace
        t_start = time.monotonic()
        next_t = t_start - self.cfg.lead
        stalled = False
        for i in range(0, len(pcm), FRAME):
            if (
                stall and self.cfg.stall_after is not None and not stalled
                and i / 8000 >= self.cfg.stall_after
            ):
                stalled = True
                next_t += self.cfg.stall
            await asyncio.sleep(max(0.0, next_t - time.monotonic()))
            if not self.cfg.catch_up and time.monotonic() > next_t + interval:
                next_t = time.monotonic()
            next_t += interval
            frame = np.pad(pcm[i : i + FRAME], (0, max(0, FRAME - len(pcm[i : i + FRAME]))))
            payload = base64.b64encode(mulaw_encode(frame)).decode()
            await self.send({"event": "media", "streamSid": self.stream_sid,
                             "media": {"payload": payload}})
            self.playout_end = max(self.playout_end, time.monotonic()) + 0.02
        await self.send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": mark}})
        await asyncio.sleep(max(0.0, self.playout_end - time.monotonic()))
        self.replies += 1
        if (self.cfg.hang_up_after_replies is not None
                and self.replies >= self.cfg.hang_up_after_replies):
            await asyncio.sleep(0.2)
            await self.ws.close()

    def start_playing(self, pcm: np.ndarray, delay: float, mark: str, stall: bool) -> None:
        self.speaking = asyncio.create_task(self.play(pcm, delay, mark, stall))

    async def on_media(self, pcm: np.ndarray) -> None:
        voiced = frame_rms(pcm, 8000, frame_ms=20).max(initial=0.0) > 300
        self.voiced_run = self.voiced_run + 1 if voiced else 0
        self.silent_run = 0 if voiced else self.silent_run + 1
        bot_busy = self.speaking is not None and (
            not self.speaking.done() or time.monotonic() < self.playout_end
        )
        if bot_busy and self.voiced_run >= self.cfg.barge_in_frames:
            if self.speaking is not None:
                self.speaking.cancel()
            self.playout_end = 0.0
            await self.send({"event": "clear", "streamSid": self.stream_sid})
        if voiced and not bot_busy:
            self.in_utterance = True
        if self.in_utterance and self.silent_run * 0.02 >= self.cfg.hangover - 1e-9:
            self.in_utterance = False
            self.start_playing(
                self.cfg.reply, self.cfg.reply_delay, f"reply-{self.replies}", stall=True
            )

    async def run(self) -> None:
        try:
            while True:
                msg = json.loads(await self.ws.receive_text())
                event = msg.get("event", "")
                self.log.received.append((time.monotonic(), event, msg))
                if event == "start":
                    self.stream_sid = msg["start"]["streamSid"]
                    if self.cfg.greeting is not None:
                        self.start_playing(
                            self.cfg.greeting, self.cfg.greeting_delay, "greeting", stall=False
                        )
                elif event == "media":
                    await self.on_media(mulaw_decode(base64.b64decode(msg["media"]["payload"])))
                elif event == "stop":
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if self.speaking is not None:
                self.speaking.cancel()


def fake_bot_app(cfg: FakeBotConfig) -> tuple[FastAPI, FakeBotLog]:
    """Build the fake bot: ``POST /twilio/voice`` (TwiML) and ``WS /ws`` (Media Streams)."""
    app = FastAPI()
    log = FakeBotLog()

    @app.post("/twilio/voice")
    async def voice(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        log.webhooks.append(form)
        expected = twilio_signature(cfg.auth_token, str(request.url), form)
        ok = request.headers.get("X-Twilio-Signature") == expected
        log.signature_ok.append(ok)
        if not ok:
            return Response("bad signature", status_code=403)
        if form.get("From") in cfg.blocked_numbers:
            twiml = "<Response><Say>Sorry, this number is not allowed.</Say><Hangup/></Response>"
        else:
            ws_url = f"ws://{request.url.netloc}/ws"
            twiml = (
                f'<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
                f'<Stream url="{ws_url}"><Parameter name="persona" value="fake"/>'
                f'<Parameter name="from_number" value="{form.get("From", "")}"/>'
                f"</Stream></Connect></Response>"
            )
        return Response(twiml, media_type="application/xml")

    @app.websocket("/ws")
    async def media(ws: WebSocket) -> None:
        await ws.accept()
        await _Session(ws, cfg, log).run()

    return app, log
