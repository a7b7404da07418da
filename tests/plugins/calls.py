"""A real built call (companion on Twilio, not connected) for processor plugin tests."""

from __future__ import annotations

from assembly.call import Call, CallContext, CallPlugin
from assembly.pipeline import build_call
from bots import PERSONAS
from config import Settings
from tests.assembly.builders import transport_for_kind
from tests.conftest import FAKE_KEYS
from transports.kinds import TransportKind

CALLER = "+15005550006"


async def built_call(
    plugins: list[CallPlugin], persona: str = "companion", caller: str | None = CALLER, **env
) -> Call:
    """Build (not run) a call of ``persona`` with ``plugins``; services are closed again."""
    settings = Settings(_env_file=None, **{**FAKE_KEYS, **env})
    ctx = CallContext(persona=persona, transport=TransportKind.TWILIO, caller_number=caller)
    transport = transport_for_kind(TransportKind.TWILIO, settings)
    call = build_call(PERSONAS[persona], transport, ctx, settings, plugins)
    await call.services.aclose()
    return call
