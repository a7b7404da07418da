"""The machine's own microphone and speaker (PyAudio via PortAudio).

PyAudio's blocking write returns once PortAudio's host buffer has room, so the call's
``PlayoutGate`` pauses the speaker within that buffer's latency.
"""

from __future__ import annotations

import asyncio

from pipecat.processors.frame_processor import FrameProcessor
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.local.audio import (
    LocalAudioOutputTransport,
    LocalAudioTransport,
    LocalAudioTransportParams,
)

from transports.kinds import AUDIO, TransportKind
from transports.playout import PlayoutGate, PlayoutGateFilter, attach_playout_gate


class _DrainingOutput(LocalAudioOutputTransport):
    """Local speaker output that lets an in-flight write finish before closing the stream.

    Pipecat's output writes from a worker thread; on cancel (Ctrl-C mid-reply) it closed the
    PortAudio stream while that thread was still inside ``write``, which aborted the process
    with "double free or corruption" (``test_local_session_stopped_mid_reply_exits_cleanly``).
    """

    async def cleanup(self) -> None:
        await BaseOutputTransport.cleanup(self)
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
        if self._out_stream:
            self._out_stream.stop_stream()
            self._out_stream.close()
            self._out_stream = None


class _LocalTransport(LocalAudioTransport):
    """``LocalAudioTransport`` with the draining speaker output."""

    def output(self) -> FrameProcessor:
        if not self._output:
            self._output = _DrainingOutput(self._pyaudio, self._params)
        return self._output


def local_transport() -> LocalAudioTransport:
    """Talk through the default input and output devices (with the call's ``PlayoutGate``)."""
    audio = AUDIO[TransportKind.LOCAL]
    gate = PlayoutGate()
    transport = _LocalTransport(
        LocalAudioTransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            audio_out_filter=PlayoutGateFilter(gate),
        )
    )
    attach_playout_gate(transport, gate)
    return transport
