"""A real Pipecat Twilio endpoint that echoes the caller's audio: the caller's interop check.

``WS /ws`` runs ``parse_telephony_websocket`` -> ``TwilioFrameSerializer`` (no REST hang-up) ->
``FastAPIWebsocketTransport`` -> an echo processor -> back out, at 8 kHz, exactly as a Switchboard
telephony bot is wired, minus STT/LLM/TTS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner


class AudioEcho(FrameProcessor):
    """Turns every input audio frame into an output audio frame."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Echo audio, pass everything else through."""
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(
                OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels)
            )
        else:
            await self.push_frame(frame, direction)


@dataclass
class EchoLog:
    """What the echo endpoint saw: the parsed transport type and call data per call."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def pipecat_echo_app() -> tuple[FastAPI, EchoLog]:
    """Build the FastAPI app with the Pipecat echo bot on ``WS /ws``."""
    app = FastAPI()
    log = EchoLog()

    @app.websocket("/ws")
    async def media(ws: WebSocket) -> None:
        await ws.accept()
        transport_type, call_data = await parse_telephony_websocket(ws)
        log.calls.append((transport_type, dict(call_data)))
        serializer = TwilioFrameSerializer(
            call_data["stream_id"],
            call_data["call_id"],
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        transport = FastAPIWebsocketTransport(
            ws,
            FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                add_wav_header=False,
                serializer=serializer,
            ),
        )
        worker = PipelineWorker(
            Pipeline([transport.input(), AudioEcho(), transport.output()]),
            params=PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000),
            enable_rtvi=False,
            idle_timeout_secs=None,
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)

        @transport.event_handler("on_client_disconnected")
        async def _gone(_transport, _client) -> None:
            await runner.cancel()

        await runner.run()

    return app, log
