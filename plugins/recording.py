"""Call recording: Pipecat's ``AudioBufferProcessor`` streamed into a stereo WAV on disk.

(``CallerClockAudioBuffer``, a subclass laying the tracks out on the caller's clock.)

Caller on the left channel, bot on the right. The processor sits after transport output and
hands over one second of audio at a time (a bounded buffer), which :class:`WavStream` appends
to the file; the whole call is never in memory. At the end the file goes to
``storage.upload_recording`` (Supabase Storage or the local path), the ``recordings`` row and
the call's ``recording_url`` are written, and ``recording.ready`` is queued.

On when the persona (or its tenant row) says so, else ``RECORDING_ENABLED``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pipecat.processors.frame_processor import FrameProcessor

from assembly.call import Call, CallPlugin, Slot
from config import Settings
from plugins.call_writer import writer_for
from plugins.recording_buffer import CallerClockAudioBuffer
from plugins.wav_stream import WavStream
from postcall.background import run_in_background
from storage.base import Recording, Storage
from storage.call_writer import CallWriter
from storage.paths import file_inside
from transports.kinds import AUDIO
from webhooks.events import emit_call_event, recording_ready_data

CHUNK_SECS = 1.0  # audio held per track before it is written out


def recording_enabled(call: Call, settings: Settings) -> bool:
    """The persona's (tenant-overridden) choice, else the global default."""
    choice = call.persona.recording
    return settings.recording_enabled if choice is None else choice


class CallRecording(CallPlugin):
    """Records calls whose persona or tenant asks for it."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings
        self._streams: dict[str, WavStream] = {}

    def hears_caller(self, call: Call) -> bool:
        """A recorded call needs the caller's audio at the recorder (after transport output)."""
        return recording_enabled(call, self._settings)

    def processors(self, call: Call) -> dict[Slot, list[FrameProcessor]]:
        """An ``AudioBufferProcessor`` after transport output, when the call is recorded."""
        if not recording_enabled(call, self._settings):
            return {}
        rate = AUDIO[call.ctx.transport].out_rate
        path = file_inside(self._settings.recordings_path, f"{call.ctx.call_id}.wav")
        stream = self._streams[call.ctx.call_id] = WavStream(path, rate, channels=2)
        buffer = CallerClockAudioBuffer(
            sample_rate=rate,
            buffer_size=int(rate * 2 * CHUNK_SECS),  # bytes per track: bounded memory
            auto_start_recording=True,
        )

        @buffer.event_handler("on_audio_data")
        async def _on_audio(_buf: Any, pcm: bytes, _rate: int, _channels: int) -> None:
            stream.write(pcm)

        return {Slot.AFTER_OUTPUT: [buffer]}

    async def detach(self, call: Call) -> None:
        """Finish the file and store it in the background."""
        stream = self._streams.pop(call.ctx.call_id, None)
        if stream is None:
            return
        writer = writer_for(call)
        call_id, tenant, persona = call.ctx.call_id, call.ctx.tenant, call.persona.name
        run_in_background(
            f"recording {call_id}",
            lambda: self._finish(call_id, tenant, persona, stream, writer),
            attempts=3,
        )

    async def _finish(
        self, call_id: str, tenant: str, persona: str, stream: WavStream, writer: CallWriter
    ) -> None:
        await stream.close()
        if stream.bytes_written == 0:
            with contextlib.suppress(FileNotFoundError):
                stream.path.unlink()
            return
        await writer.drain()  # the call's row exists before its recording points at it
        url = await self._storage.upload_recording(call_id, str(stream.path))
        recording = Recording(
            call_id=call_id,
            url=url,
            channels=stream.channels,
            sample_rate=stream.sample_rate,
            duration_secs=round(stream.duration_secs, 3),
            bytes=stream.path.stat().st_size,
        )
        if await self._storage.get_recording(call_id) is None:
            await self._storage.add_recording(recording)
        await self._storage.update_call(call_id, recording_url=url)
        if url != str(stream.path.resolve()):  # uploaded elsewhere: drop the local copy
            with contextlib.suppress(FileNotFoundError):
                stream.path.unlink()
        await emit_call_event(
            self._storage,
            self._settings,
            "recording.ready",
            tenant=tenant,
            persona=persona,
            call_id=call_id,
            data=recording_ready_data(recording),
        )
