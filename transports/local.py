"""The machine's own microphone and speaker (PyAudio via PortAudio)."""

from __future__ import annotations

from pipecat.transports.local.audio import LocalAudioTransport, LocalAudioTransportParams

from transports.kinds import AUDIO, TransportKind


def local_transport() -> LocalAudioTransport:
    """Talk through the default input and output devices."""
    audio = AUDIO[TransportKind.LOCAL]
    return LocalAudioTransport(
        LocalAudioTransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
        )
    )
