"""Browser WebRTC without a media server (SmallWebRTC, peer-to-peer with the launcher)."""

from __future__ import annotations

from typing import Any

from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from transports.kinds import AUDIO, TransportKind


def webrtc_transport(connection: Any) -> SmallWebRTCTransport:
    """A transport over an established ``SmallWebRTCConnection``."""
    audio = AUDIO[TransportKind.WEBRTC]
    return SmallWebRTCTransport(
        webrtc_connection=connection,
        params=TransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
        ),
    )
