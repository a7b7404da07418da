"""The Media Streams side of a simulated Twilio call: the 20 ms frame clock and the socket.

:class:`MediaStreamLink` sends one μ-law ``media`` frame per 20 ms slot (speech or silence),
answers ``mark`` messages once their audio has played, notices when this process stalls, and
hands every received message to the playout model (``playout.PlayoutModel``). The script side
(``twilio.TwilioCaller``) decides what to say and when.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import numpy as np
import websockets
from loguru import logger
from websockets.asyncio.client import ClientConnection

from simulators.callers import media_streams as wire
from simulators.callers.audio import mulaw_decode, mulaw_encode
from simulators.callers.playout import PlayoutModel
from simulators.callers.result import CallResult, MarkRecord, MessageRecord

RATE = 8000
FRAME_SECS = 0.02
FRAME_SAMPLES = 160
_SILENT_ULAW = b"\xff" * FRAME_SAMPLES
# Falling this far behind the frame clock means this process (or the machine) stalled.
_STALL_SECS = 0.1
# After a stall, time for the receiver to take in what arrived meanwhile.
_CATCH_UP_SECS = 0.02


class CallOver(Exception):
    """The call ended under the script (bot hung up or the time limit passed)."""


class MediaStreamLink:
    """The wire half of a call; the caller class sets the state it reads in ``run()``.

    ``wire`` builds the messages the carrier sends and names the ones it receives (Twilio's
    Media Streams by default; ``simulators.callers.carrier_wire`` for the other carriers).
    """

    wire: Any = wire

    call_sid: str
    stream_sid: str
    _ws: ClientConnection
    _result: CallResult
    _model: PlayoutModel
    _t0: float
    _frames: int
    _seq: int
    _lag: float  # how far behind its frame clock the caller was at the last frame
    _stall_end: float  # when the caller last noticed it had stalled
    _caller_closed: bool
    _bot_closed: bool
    _hang_up_requested: bool
    _pending_marks: list[tuple[float, MarkRecord]]
    _max_duration: float

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _send(self, msg: dict) -> None:
        event = msg["event"]
        data = None if event == "media" else msg
        self._result.messages.append(MessageRecord(self._now(), "sent", event, data))
        await self._ws.send(json.dumps(msg))

    async def _tick(self, frame: np.ndarray | None = None) -> None:
        """Send the next 20 ms media frame at its real-time slot."""
        if self._bot_closed:
            raise CallOver()
        due = self._t0 + (self._frames + 1) * FRAME_SECS
        await asyncio.sleep(max(0.0, due - time.monotonic()))  # behind: still let others run
        lag = max(0.0, time.monotonic() - due)
        if lag - self._lag > _STALL_SECS:
            # This process (or the machine) stalled. The bot's audio that arrived meanwhile is
            # still unread: let the receiver take it in, and do not count the stalled time as
            # the bot being quiet (see WaitForBotSilence).
            self._result.caller_stalls.append((round(self._now(), 4), round(lag - self._lag, 4)))
            logger.warning(f"call {self.call_sid}: caller stalled {lag - self._lag:.3f}s")
            await asyncio.sleep(_CATCH_UP_SECS)
            self._stall_end = self._now()
            lag = max(0.0, time.monotonic() - due)
        self._lag = lag
        if self._bot_closed or self._hang_up_requested:
            raise CallOver()
        if self._now() > self._max_duration:
            raise CallOver(f"max_duration {self._max_duration}s reached")
        self._frames += 1
        payload = _SILENT_ULAW
        if frame is not None:
            payload = mulaw_encode(np.pad(frame, (0, FRAME_SAMPLES - len(frame))))
        await self._send(
            self.wire.media(self._next_seq(), self._frames, self.stream_sid, payload)
        )
        self._result.sent_media += 1
        self._result.sent_media_times.append(self._now())
        now = self._now()
        for due, mark in [m for m in self._pending_marks if m[0] <= now]:
            self._pending_marks.remove((due, mark))
            await self._send(self.wire.mark(self._next_seq(), self.stream_sid, mark.name))
            mark.answered_at = round(self._now(), 4)

    def _on_message(self, t: float, msg: dict) -> None:
        r = self._result
        event = str(msg.get("event", "<none>"))
        if event in self.wire.AUDIO_EVENTS:
            pcm = mulaw_decode(base64.b64decode(msg["media"]["payload"], validate=True))
            self._model.on_media(t, pcm)
            r.received_media += 1
            r.messages.append(MessageRecord(t, "received", event, None))
            return
        r.messages.append(MessageRecord(t, "received", event, msg))
        if event in self.wire.CLEAR_EVENTS:
            self._model.on_clear(t)
            self._pending_marks = [(t, m) for _, m in self._pending_marks]
        elif event == "mark":
            mark = MarkRecord(str(msg["mark"]["name"]), round(t, 4))
            r.marks.append(mark)
            self._pending_marks.append((max(t, self._model.playout_end), mark))

    async def _receive(self) -> None:
        r = self._result
        try:
            async for raw in self._ws:
                t = self._now()
                if isinstance(raw, bytes):
                    r.messages.append(MessageRecord(t, "received", "<binary>", None))
                    continue
                try:
                    msg = json.loads(raw)
                except json.JSONDecodeError:
                    r.messages.append(MessageRecord(t, "received", "<invalid>", {"raw": raw}))
                    continue
                try:
                    self._on_message(t, msg)
                except Exception as e:  # a malformed message is the bot's bug: record it
                    r.errors.append(f"bad message at t={t:.3f}s: {e!r}: {str(raw)[:200]}")
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if not self._caller_closed:
                self._bot_closed = True
                r.hung_up_by_bot = True
                logger.info(f"call {self.call_sid}: the bot closed the websocket")
