"""``AudioBufferProcessor`` laid out on the caller's clock, for transports with continuous input.

Pipecat's websocket output (Twilio) sends bot audio at twice real time so the phone's buffer
stays ahead, and the stock processor pads the caller's track up to the bot's position whenever
bot audio passes. With a caller stream that is continuous (telephony, WebRTC and SFUs send
audio, or silence, all call long) that inserts silence into the caller's channel and the
recording ends up several seconds longer than the call (measured: 122.6 s for a 117.8 s call).

The same goes for silence the stock processor inserts when the caller's audio arrives late (a
busy event loop): the late frames still arrive, so the caller's track counted the gap twice.

Here the caller's track is the clock: it is never padded; bot audio is laid after the previous
bot audio (as the caller hears it, queued) or at the caller's current position, whichever is
later, and each emitted chunk covers exactly the caller audio received so far. Bot audio the
caller had not heard yet waits for the next chunk; at the end it is dropped, as the caller
never heard it. Memory stays bounded: one ``buffer_size`` of caller audio plus the bot's lead.
"""

from __future__ import annotations

from pipecat.audio.utils import interleave_stereo_audio
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor


class CallerClockAudioBuffer(AudioBufferProcessor):
    """Stereo recording (caller left, bot right) whose length is the caller stream's length."""

    def __init__(self, **kwargs) -> None:
        super().__init__(num_channels=2, **kwargs)
        self._bot_lead = bytearray()  # bot audio past the caller's position, for the next chunk
        self._keep = False  # the last flush emitted nothing: keep the buffers
        self._final = False

    def _sync_buffer_to_position(self, buffer: bytearray, target_position: int) -> None:
        if buffer is self._user_audio_buffer:
            return  # the caller's audio is the call's clock: never pad it
        super()._sync_buffer_to_position(buffer, target_position)

    def _fill_buffer_silence_gap(
        self, buffer: bytearray, last_update_time: float | None, now: float, frame_bytes: int
    ) -> None:
        if buffer is self._user_audio_buffer:
            return  # a late burst of caller audio is the audio itself, not a silence
        super()._fill_buffer_silence_gap(buffer, last_update_time, now, frame_bytes)

    async def stop_recording(self) -> None:
        """Emit what the caller heard so far, then stop."""
        self._final = True
        try:
            await super().stop_recording()
        finally:
            self._final = False
            self._bot_lead = bytearray()

    async def _call_on_audio_data_handler(self) -> None:
        if not self._recording:
            return
        n = len(self._user_audio_buffer)
        if n == 0 or (n < self._buffer_size and not self._final):
            self._keep = True  # only the bot's lead grew: wait for the caller's clock
            return
        self._sync_buffer_to_position(self._bot_audio_buffer, n)
        self._bot_lead = self._bot_audio_buffer[n:]
        stereo = interleave_stereo_audio(
            bytes(self._user_audio_buffer), bytes(self._bot_audio_buffer[:n])
        )
        await self._call_event_handler("on_audio_data", stereo, self._sample_rate, 2)

    def _reset_primary_audio_buffers(self) -> None:
        if self._keep:
            self._keep = False
            return
        lead, self._bot_lead = self._bot_lead, bytearray()
        super()._reset_primary_audio_buffers()
        self._bot_audio_buffer.extend(lead)
