"""Transport kinds and the one table that decides each kind's audio rates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TransportKind(StrEnum):
    """The transports a call can run on."""

    TWILIO = "twilio"
    WEBRTC = "webrtc"
    LIVEKIT = "livekit"
    DAILY = "daily"
    LOCAL = "local"


@dataclass(frozen=True)
class AudioProfile:
    """How audio flows on a transport kind.

    Attributes:
        in_rate: Pipeline input rate (Silero VAD accepts only 8 kHz or 16 kHz).
        out_rate: Pipeline output rate (TTS synthesises at this rate when it can).
        rtvi: Whether the RTVI protocol runs (browser/app clients; off for the phone).
    """

    in_rate: int
    out_rate: int
    rtvi: bool


# Phone audio is 8 kHz μ-law end to end: no resampling anywhere on the Twilio path.
AUDIO: dict[TransportKind, AudioProfile] = {
    TransportKind.TWILIO: AudioProfile(in_rate=8000, out_rate=8000, rtvi=False),
    TransportKind.WEBRTC: AudioProfile(in_rate=16000, out_rate=24000, rtvi=True),
    TransportKind.LIVEKIT: AudioProfile(in_rate=16000, out_rate=24000, rtvi=True),
    TransportKind.DAILY: AudioProfile(in_rate=16000, out_rate=24000, rtvi=True),
    TransportKind.LOCAL: AudioProfile(in_rate=16000, out_rate=16000, rtvi=False),
}
