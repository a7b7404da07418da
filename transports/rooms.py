"""SFU room transports: LiveKit (browser, mobile, SIP) and Daily."""

from __future__ import annotations

from pipecat.transports.daily.transport import DailyParams, DailyTransport
from pipecat.transports.livekit.transport import LiveKitParams, LiveKitTransport

from transports.kinds import AUDIO, TransportKind


def livekit_transport(url: str, token: str, room: str) -> LiveKitTransport:
    """Join a LiveKit room as the bot with its own (unique-identity) token."""
    audio = AUDIO[TransportKind.LIVEKIT]
    return LiveKitTransport(
        url=url,
        token=token,
        room_name=room,
        params=LiveKitParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
        ),
    )


def daily_transport(room_url: str, token: str | None, bot_name: str) -> DailyTransport:
    """Join a Daily room as the bot."""
    audio = AUDIO[TransportKind.DAILY]
    return DailyTransport(
        room_url,
        token,
        bot_name,
        params=DailyParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
        ),
    )
