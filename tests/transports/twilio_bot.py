"""A real Pipecat Twilio endpoint built by ``transports.twilio``, saying what a test queues.

``WS /ws`` runs ``parse_telephony_websocket`` -> ``twilio_transport`` (no REST hang-up) ->
input -> output -> ``FrameLog``. Tests queue ``speech_frames(...)`` with ``worker.queue_frames``
(as a TTS service would push them) and drive the call's ``PlayoutGate``; ``TwilioCaller`` is the
phone. Helpers compare what the caller heard with what was said.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.workers.runner import WorkerRunner

from config import Settings
from simulators.callers.audio import mulaw_decode, mulaw_encode, speech_pcm, trim_silence
from simulators.callers.playout import PlayoutModel
from transports.playout import PlayoutGate, playout_gate
from transports.twilio import twilio_transport
from transports.twilio_playout import TwilioPlayoutOutput

RATE = 8000
CHUNK = 320  # Pipecat's 40 ms output chunk at 8 kHz


class FrameLog(FrameProcessor):
    """After the output: when bot-stopped-speaking and the TTS text came out (monotonic)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[float, str]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Record, then pass on."""
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, BotStoppedSpeakingFrame):
                self.events.append((time.monotonic(), "bot_stopped"))
            elif isinstance(frame, TTSTextFrame):
                self.events.append((time.monotonic(), f"text:{frame.text}"))
        await self.push_frame(frame, direction)

    def times(self, kind: str) -> list[float]:
        """Monotonic times of events named ``kind``."""
        return [t for t, name in self.events if name == kind]


@dataclass
class BotCall:
    """The running bot side of one call."""

    worker: PipelineWorker
    gate: PlayoutGate
    output: TwilioPlayoutOutput
    log: FrameLog


@dataclass
class Endpoint:
    """The calls the endpoint took; ``call()`` waits for the first."""

    calls: list[BotCall] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, timeout: float = 10.0) -> BotCall:
        """The first call, once its pipeline runs."""
        await asyncio.wait_for(self.ready.wait(), timeout)
        return self.calls[0]


def playout_bot_app(settings: Settings) -> tuple[FastAPI, Endpoint]:
    """The FastAPI app and the record of its calls."""
    app = FastAPI()
    endpoint = Endpoint()

    @app.websocket("/ws")
    async def media(ws: WebSocket) -> None:
        await ws.accept()
        _, call_data = await parse_telephony_websocket(ws)
        transport = twilio_transport(
            ws, settings, stream_sid=call_data["stream_id"], call_sid=call_data["call_id"],
            hang_up=False,
        )
        log = FrameLog()
        worker = PipelineWorker(
            Pipeline([transport.input(), transport.output(), log]),
            params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
            enable_rtvi=False,
            idle_timeout_secs=None,
        )
        gate = playout_gate(transport)
        assert gate is not None
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)

        @worker.event_handler("on_pipeline_started")
        async def _started(_worker: Any, _frame: Any) -> None:
            endpoint.calls.append(BotCall(worker, gate, transport.output(), log))
            endpoint.ready.set()

        @transport.event_handler("on_client_disconnected")
        async def _gone(_transport: Any, _client: Any) -> None:
            await runner.cancel()

        await runner.run()

    return app, endpoint


def speech(text: str) -> np.ndarray:
    """``text`` spoken at 8 kHz, trimmed, padded to whole 40 ms chunks."""
    pcm = trim_silence(speech_pcm(text, RATE), RATE)
    return np.pad(pcm, (0, -len(pcm) % CHUNK)).astype(np.int16)


def speech_frames(pcm: np.ndarray, texts: dict[int, str] | None = None) -> list[Frame]:
    """A TTS utterance: started, 20 ms audio frames (text after chunk ``i``), stopped."""
    frames: list[Frame] = [TTSStartedFrame()]
    for n, i in enumerate(range(0, len(pcm), 160)):
        frames.append(TTSAudioRawFrame(pcm[i : i + 160].tobytes(), RATE, 1))
        if texts and n in texts:
            frames.append(TTSTextFrame(texts[n], text_type="sentence"))
    frames.append(TTSStoppedFrame())
    return frames


def as_heard(pcm: np.ndarray) -> np.ndarray:
    """What the caller decodes from ``pcm`` (μ-law round trip)."""
    return mulaw_decode(mulaw_encode(pcm))


def heard_stream(model: PlayoutModel) -> np.ndarray:
    """Everything the caller played, in order, without the gaps."""
    parts = [c.pcm for c in model.chunks if len(c.pcm)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the longest common prefix of two sample arrays."""
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


@dataclass
class Alignment:
    """``heard`` = ``source[:cut]`` + ``source[resume_at:]`` + the rest (zeros if all is well)."""

    cut: int
    resume_at: int | None
    rest: np.ndarray

    @property
    def duplicate_secs(self) -> float:
        """Audio heard twice at the resume point."""
        return (self.cut - (self.resume_at or self.cut)) / RATE


def align(heard: np.ndarray, source: np.ndarray, max_back: int = 2 * RATE) -> Alignment:
    """Find where ``heard`` stops following ``source`` and where (at or before) it picks up.

    Returns ``resume_at=None`` if the rest of ``heard`` is no continuation of ``source``
    starting up to ``max_back`` samples before the cut (audio missing, or never resumed).
    """
    cut = common_prefix(heard, source)
    if cut == len(source):
        return Alignment(cut, cut, heard[cut:])
    tail = heard[cut:]
    probe = tail[:80]
    for back in range(0, min(max_back, cut) + 1):
        start = cut - back
        want = source[start:]
        if not np.array_equal(source[start : start + len(probe)], probe):
            continue
        if len(tail) >= len(want) and np.array_equal(tail[: len(want)], want):
            return Alignment(cut, start, tail[len(want) :])
    return Alignment(cut, None, tail)
