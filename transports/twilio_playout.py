"""Twilio output that knows what the caller has heard: real-time pacing, marks, pause/replay.

Pipecat's websocket output sends audio at twice real time, so Twilio ends up holding seconds of
audio the caller has not heard yet: Pipecat's "bot stopped speaking", the TTS text and the
assistant context run that far ahead of the caller's ears, and a pause would have to flush all
of it. This output instead:

* paces audio to real time with a bounded lead: never more than ``LEAD_SECS`` of audio ahead
  of what the caller has played, according to a send-side model of Twilio's playout clock;
* sends a Twilio ``mark`` after roughly every ``MARK_EVERY_SECS`` of audio (and when the audio
  stops), and keeps the audio sent since the oldest mark Twilio has not acknowledged: that is
  what the caller has not heard yet;
* is the gate's ``RemotePlayout``: ``flush()`` sends ``clear`` and keeps that unheard audio,
  ``replay()`` sends it again, ``forget()`` drops it.

Twilio acknowledges every pending mark at once after a ``clear``, so mark names carry a
generation that changes at each flush or interruption; acknowledgements of an older generation
do not count as played.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.frames.frames import Frame, InterruptionFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

# Most audio Twilio may hold beyond what the caller has played. It bounds how far Pipecat's
# bot-stopped-speaking, the TTS text and "what was heard" run ahead of the caller's ears, and how
# much a pause flushes; it is also the cushion against network jitter and event-loop stalls.
LEAD_SECS = 0.3
# A mark after every this much audio (two of Pipecat's 40 ms chunks): a replay repeats at most
# this plus the time an acknowledgement takes.
MARK_EVERY_SECS = 0.08
# When no audio follows for this long, the audio sent since the last mark gets its own mark.
MARK_IDLE_SECS = 0.06
# Unacknowledged audio beyond this is forgotten (a far end that never acknowledges marks).
MAX_TRACKED_SECS = 10.0
_MARK_PREFIX = "sb"
# Malformed messages a stream may send before its call is ended (each one is dropped).
MALFORMED_LIMIT = 20


class TwilioPlayoutSerializer(TwilioFrameSerializer):
    """``TwilioFrameSerializer`` that reads ``mark`` and ``stop`` and survives bad messages.

    A malformed message (not JSON, not an object, a media payload Pipecat cannot decode) is
    dropped and counted, with one log line for the first; past ``MALFORMED_LIMIT`` of them
    ``on_malformed`` is awaited once (the call ends politely). After ``stop`` nothing more is
    read and ``on_stop`` is awaited: the caller has gone.

    Args:
        stream_sid: The media stream's sid.
        *args: As for ``TwilioFrameSerializer``.
        **kwargs: As for ``TwilioFrameSerializer``.
    """

    def __init__(self, stream_sid: str, *args: Any, **kwargs: Any):
        super().__init__(stream_sid, *args, **kwargs)
        self.stream_sid = stream_sid
        self.on_mark: Callable[[str], None] | None = None
        self.on_stop: Callable[[], Awaitable[None]] | None = None
        self.on_malformed: Callable[[int], Awaitable[None]] | None = None
        self.malformed = 0
        self.stopped = False

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Marks to ``on_mark``, ``stop`` to ``on_stop``, media and DTMF as Pipecat does."""
        if self.stopped:
            return None
        try:
            message = json.loads(data)
            event = message.get("event") if isinstance(message, dict) else None
            if event == "mark":
                name = (message.get("mark") or {}).get("name")
                if name is not None and self.on_mark is not None:
                    self.on_mark(str(name))
                return None
            elif event == "stop":
                self.stopped = True
                if self.on_stop is not None:
                    await self.on_stop()
                return None
            elif event is None:
                raise TypeError("not a JSON object with an event")
            return await super().deserialize(data)  # media and DTMF; raises on bad payloads
        except Exception as exc:  # a malformed message never ends the call by itself
            await self._count_malformed(exc)
            return None

    async def _count_malformed(self, exc: Exception) -> None:
        self.malformed += 1
        if self.malformed == 1:
            logger.warning(f"dropped a malformed Twilio media message ({type(exc).__name__})")
        if self.malformed == MALFORMED_LIMIT + 1 and self.on_malformed is not None:
            logger.warning(f"over {MALFORMED_LIMIT} malformed Twilio messages: ending the call")
            await self.on_malformed(self.malformed)


class TwilioPlayoutOutput(FastAPIWebsocketOutputTransport):
    """Paced Twilio output with marks; the ``RemotePlayout`` of the call's ``PlayoutGate``.

    Needs a ``TwilioPlayoutSerializer`` in ``params.serializer``.
    """

    def __init__(self, transport: Any, client: Any, params: FastAPIWebsocketParams, **kwargs: Any):
        super().__init__(transport, client, params, **kwargs)
        serializer = params.serializer
        if not isinstance(serializer, TwilioPlayoutSerializer):
            raise TypeError("TwilioPlayoutOutput needs a TwilioPlayoutSerializer")
        serializer.on_mark = self._on_mark
        self._stream_sid = serializer.stream_sid
        self._play_end = 0.0  # when Twilio will have played everything sent (monotonic)
        self._unacked: deque[tuple[str, bytes]] = deque()  # (mark, audio sent before it)
        self._open = bytearray()  # audio sent since the last mark
        self._kept = bytearray()  # unheard audio remembered by flush(), for replay()
        self._flushed = False
        self._gen = 0  # changes at every flush and interruption
        self._mark_seq = 0
        self._interruptions = 0
        self._idle: asyncio.TimerHandle | None = None
        self.marks_sent = 0
        self.marks_acked = 0
        self.flushes = 0
        self.replayed_secs = 0.0

    # ------------------------------------------------------------------ audio

    def _secs(self, nbytes: int) -> float:
        rate = self.sample_rate or 8000  # before setup (a pause before the call started)
        return nbytes / (2 * self._params.audio_out_channels * rate)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Send one chunk once Twilio holds at most ``LEAD_SECS`` after it (kept if flushed)."""
        if self._client.is_closing or not self._client.is_connected:
            return False
        interruptions = self._interruptions
        if not self._flushed:
            await self._pace(len(frame.audio))
        if frame.interruptible and interruptions != self._interruptions:
            return True  # interrupted while waiting: this chunk is stale
        if self._flushed:
            self._kept.extend(frame.audio)
            return True
        return await self._send_audio(frame.audio)

    async def _pace(self, nbytes: int) -> None:
        allowed = max(0.0, LEAD_SECS - self._secs(nbytes))
        while True:
            wait = self._play_end - time.monotonic() - allowed
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _send_audio(self, audio: bytes) -> bool:
        """Send media (tracked before the await, so a flush meanwhile keeps it), then a mark."""
        now = time.monotonic()
        self._play_end = max(now, self._play_end) + self._secs(len(audio))
        self._open.extend(audio)
        mark = self._close_segment() if self._secs(len(self._open)) >= MARK_EVERY_SECS else None
        frame = OutputAudioRawFrame(
            audio, sample_rate=self.sample_rate, num_channels=self._params.audio_out_channels
        )
        ok = await self._write_frame(frame)
        if mark is not None:
            await self._send_mark(mark)
        self._arm_idle_mark()
        return ok

    # ------------------------------------------------------------------ marks

    def _close_segment(self) -> str:
        self._mark_seq += 1
        name = f"{_MARK_PREFIX}{self._gen}-{self._mark_seq}"
        self._unacked.append((name, bytes(self._open)))
        self._open.clear()
        tracked = sum(len(audio) for _, audio in self._unacked)
        while self._unacked and self._secs(tracked) > MAX_TRACKED_SECS:
            tracked -= len(self._unacked.popleft()[1])
            logger.warning("Twilio is not acknowledging marks: forgetting the oldest audio")
        return name

    async def _send_mark(self, name: str) -> None:
        self.marks_sent += 1
        message = {"event": "mark", "streamSid": self._stream_sid, "mark": {"name": name}}
        await self._send_json(message)

    async def _send_json(self, message: dict[str, Any]) -> None:
        if not self._client.is_closing and self._client.is_connected:
            await self._client.send(json.dumps(message))

    def _arm_idle_mark(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(MARK_IDLE_SECS, self._on_idle)

    def _on_idle(self) -> None:
        self._idle = None
        if self._open and not self._flushed:
            self.create_task(self._send_mark(self._close_segment()), "idle_mark")

    def _on_mark(self, name: str) -> None:
        """Twilio played everything sent before mark ``name`` (ignored if of another generation)."""
        if not name.startswith(f"{_MARK_PREFIX}{self._gen}-"):
            return
        names = [n for n, _ in self._unacked]
        if name in names:
            for _ in range(names.index(name) + 1):
                self._unacked.popleft()
            self.marks_acked += 1

    def _forget_sent(self) -> bytes:
        """Stop tracking what was sent; return the part Twilio had not played."""
        unheard = b"".join(audio for _, audio in self._unacked) + bytes(self._open)
        self._unacked.clear()
        self._open.clear()
        self._gen += 1
        self._play_end = time.monotonic()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        return unheard

    # ------------------------------------------------------------------ RemotePlayout

    async def flush(self) -> None:
        """Clear Twilio's buffer and keep the audio after the last acknowledged mark."""
        if self._flushed:
            return
        self._flushed = True
        self.flushes += 1
        unheard = self._forget_sent()
        self._kept[:0] = unheard
        logger.debug(f"{self}: pause, {self._secs(len(unheard)):.2f}s unheard kept")
        if unheard:
            await self._send_json({"event": "clear", "streamSid": self._stream_sid})

    async def replay(self) -> None:
        """Send the kept audio again at once (with marks), before any newer audio."""
        if not self._flushed:
            return
        interruptions = self._interruptions
        replayed = 0
        step = self.audio_chunk_size or 1
        while self._kept and interruptions == self._interruptions:
            audio = bytes(self._kept)  # chunks written meanwhile land in _kept: loop again
            self._kept.clear()
            for i in range(0, len(audio), step):
                if interruptions != self._interruptions:
                    break
                await self._send_audio(audio[i : i + step])
                replayed += min(step, len(audio) - i)
        self._kept.clear()
        self._flushed = False
        self.replayed_secs += self._secs(replayed)
        logger.debug(f"{self}: resume, {self._secs(replayed):.2f}s replayed")

    async def forget(self) -> None:
        """Drop the kept audio; new audio goes straight out again."""
        self._kept.clear()
        self._flushed = False

    # ------------------------------------------------------------------ frames

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """On ``InterruptionFrame`` drop all tracking (Pipecat's serializer sends ``clear``)."""
        if isinstance(frame, InterruptionFrame):
            self._interruptions += 1
            self._forget_sent()
            self._kept.clear()
            self._flushed = False
        await super().process_frame(frame, direction)

    async def cleanup(self) -> None:
        """Stop the idle-mark timer."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        await super().cleanup()


class TwilioPlayoutTransport(FastAPIWebsocketTransport):
    """``FastAPIWebsocketTransport`` whose output is ``TwilioPlayoutOutput``.

    Pipecat's constructor builds the standard output; it is replaced before anything uses it.
    """

    def __init__(
        self,
        websocket: Any,
        params: FastAPIWebsocketParams,
        input_name: str | None = None,
        output_name: str | None = None,
    ):
        super().__init__(websocket, params, input_name=input_name, output_name=output_name)
        self._output = TwilioPlayoutOutput(self, self._client, self._params, name=self._output_name)
        self._register_event_handler("on_stream_stopped")
        self._register_event_handler("on_malformed_messages")
        serializer = params.serializer
        if isinstance(serializer, TwilioPlayoutSerializer):
            # Pipecat runs each (non-sync) handler in its own tracked task.
            serializer.on_stop = lambda: self._call_event_handler("on_stream_stopped")
            serializer.on_malformed = lambda count: self._call_event_handler(
                "on_malformed_messages", count
            )

    def output(self) -> TwilioPlayoutOutput:
        """The paced output with marks."""
        return self._output
