"""Transports: one place that builds each kind with the right parameters and serializer.

Modules are imported on demand so a process only pays for the transports it uses
(``transports.twilio``, ``transports.webrtc``, ``transports.rooms``, ``transports.local``).
"""

from transports.kinds import AUDIO, AudioProfile, TransportKind

__all__ = ["AUDIO", "AudioProfile", "TransportKind", "preload"]


def preload(kinds: tuple[str, ...] = ("twilio", "webrtc", "rooms")) -> None:
    """Import transport modules up front (the launcher does, so calls never pay for imports)."""
    import importlib

    for kind in kinds:
        importlib.import_module(f"transports.{kind}")
