"""Build one phone call per persona at start-up, so the first real call is not slower.

The first build in a process pays lazy imports, class set-up and the shared TLS context
(~200-450 ms); afterwards a build takes a few ms. (Warming a started call's provider
connections is ``providers.warmup.prewarm``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from loguru import logger

from assembly.call import CallContext
from assembly.persona import Persona
from assembly.pipeline import build_call
from config import Settings
from providers.errors import ProviderError
from transports.kinds import TransportKind
from transports.twilio import twilio_transport


class _NoSocket:
    """Stands in for a websocket while a warm-up call is built (it is never started)."""

    client_state = None
    application_state = None


def warm_call_path(settings: Settings, personas: Iterable[Persona]) -> None:
    """Build (never start) one phone call per persona, so the first real call is not slower.

    The first build in a process pays lazy imports, class set-up and the shared TLS context
    (~200-450 ms); afterwards a build takes a few ms. Personas whose providers lack keys are
    skipped.
    """
    for persona in personas:
        transport = twilio_transport(_NoSocket(), settings, stream_sid="warmup", call_sid=None)
        ctx = CallContext(call_id="warmup", persona=persona.name, transport=TransportKind.TWILIO)
        try:
            build_call(persona, transport, ctx, settings)
        except ProviderError as exc:
            logger.debug(f"warm-up of {persona.name} skipped: {exc}")
