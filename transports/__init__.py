"""Transports: one place that builds each kind with the right parameters and serializer.

Modules are imported on demand so a process only pays for the transports it uses
(``transports.twilio``, ``transports.webrtc``, ``transports.rooms``, ``transports.local``).
"""

from transports.kinds import AUDIO, AudioProfile, TransportKind

__all__ = ["AUDIO", "AudioProfile", "TransportKind"]
