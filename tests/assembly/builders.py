"""Build every persona on every transport kind with real Pipecat objects (no network)."""

from __future__ import annotations

from typing import Any

from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection

from assembly.call import Call, CallContext
from assembly.pipeline import build_call
from bots import PERSONAS
from config import Settings
from tests.conftest import FAKE_KEYS
from transports.kinds import TransportKind


class _UnconnectedWebSocket:
    """Stands where Starlette's WebSocket goes until the transport starts (never used here)."""

    client_state = None
    application_state = None


def transport_for_kind(kind: TransportKind, settings: Settings) -> Any:
    """A real transport of each kind, built but not connected."""
    if kind == TransportKind.TWILIO:
        from transports.twilio import twilio_transport

        return twilio_transport(
            _UnconnectedWebSocket(), settings, stream_sid="MZ" + "0" * 32, call_sid="CA" + "1" * 32
        )
    if kind == TransportKind.WEBRTC:
        from transports.webrtc import webrtc_transport

        return webrtc_transport(SmallWebRTCConnection())
    if kind == TransportKind.LIVEKIT:
        from transports.rooms import livekit_transport

        return livekit_transport("ws://127.0.0.1:1", "token", "room-1")
    if kind == TransportKind.DAILY:
        from transports.rooms import daily_transport

        return daily_transport("https://example.daily.co/room-1", None, "bot")
    from transports.local import local_transport

    return local_transport()


async def build_every_call(kinds: list[TransportKind] | None = None) -> list[Call]:
    """One built call per persona per transport kind."""
    settings = Settings(_env_file=None, **FAKE_KEYS)
    calls = []
    for persona in PERSONAS.values():
        for kind in kinds or list(TransportKind):
            ctx = CallContext(persona=persona.name, transport=kind, user_name="Robin")
            calls.append(build_call(persona, transport_for_kind(kind, settings), ctx, settings))
    for call in calls:
        await call.services.aclose()
    return calls
