"""SFU room transports: LiveKit (browser, mobile, SIP) and Daily, each with its ``PlayoutGate``.

Both outputs pace to playback, so holding the gate pauses the listener's audio within a chunk:
Daily's ``CustomAudioSource.write_frames`` completes as the source consumes the audio in real
time, and LiveKit's ``AudioSource.capture_frame`` returns once the audio fits in the source's
queue, which we keep at ``LIVEKIT_OUT_QUEUE_MS`` (LiveKit's default, 1000 ms, would keep
playing up to a second after a pause).
"""

from __future__ import annotations

from pipecat.transports.daily.transport import DailyParams, DailyTransport
from pipecat.transports.livekit.transport import LiveKitParams, LiveKitTransport

from transports.kinds import AUDIO, TransportKind
from transports.playout import PlayoutGate, PlayoutGateFilter, attach_playout_gate

# Audio LiveKit's source may hold ahead of playback: what still plays after a pause.
LIVEKIT_OUT_QUEUE_MS = 100


def livekit_transport(url: str, token: str, room: str) -> LiveKitTransport:
    """Join a LiveKit room as the bot with its own (unique-identity) token."""
    audio = AUDIO[TransportKind.LIVEKIT]
    gate = PlayoutGate()
    transport = LiveKitTransport(
        url=url,
        token=token,
        room_name=room,
        params=LiveKitParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            audio_out_filter=PlayoutGateFilter(gate),
            audio_out_queue_size_ms=LIVEKIT_OUT_QUEUE_MS,
        ),
    )
    attach_playout_gate(transport, gate)
    return transport


def daily_transport(room_url: str, token: str | None, bot_name: str) -> DailyTransport:
    """Join a Daily room as the bot."""
    audio = AUDIO[TransportKind.DAILY]
    gate = PlayoutGate()
    transport = DailyTransport(
        room_url,
        token,
        bot_name,
        params=DailyParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            audio_out_filter=PlayoutGateFilter(gate),
        ),
    )
    attach_playout_gate(transport, gate)
    return transport
