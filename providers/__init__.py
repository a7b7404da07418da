"""Provider factory: persona choices + settings → Pipecat STT, LLM and TTS services.

Endpoints and keys come from :class:`config.Settings` only. Every problem a call could hit
with its providers (unknown name, missing key, missing package, bad option) is raised here,
before the call starts, as a :class:`ProviderError` that names what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config import Settings
from providers.common import effective
from providers.errors import (
    MissingKeyError,
    ProviderError,
    ProviderOptionError,
    ProviderUnavailableError,
    UnknownProviderError,
)
from providers.llm import LLM_BUILDERS
from providers.spec import ServiceSpec
from providers.stt import STT_BUILDERS
from providers.tts import TTS_BUILDERS, Closers

STAGES = {"stt": STT_BUILDERS, "llm": LLM_BUILDERS, "tts": TTS_BUILDERS}

__all__ = [
    "MissingKeyError",
    "ProviderError",
    "ProviderOptionError",
    "ProviderUnavailableError",
    "Services",
    "UnknownProviderError",
    "build_services",
    "resolve_specs",
    "STAGES",
]


@dataclass
class Services:
    """The three services of a call plus anything to close when the call ends."""

    stt: Any
    llm: Any
    tts: Any
    specs: dict[str, ServiceSpec]
    closers: Closers = field(default_factory=list)

    async def aclose(self) -> None:
        """Close resources the builders opened (HTTP sessions)."""
        while self.closers:
            await self.closers.pop()()


def resolve_specs(
    chosen: dict[str, ServiceSpec], settings: Settings
) -> dict[str, ServiceSpec]:
    """The provider choice per stage after ``*_PROVIDER`` overrides, checked by name.

    Args:
        chosen: The persona's choices, keyed ``stt``, ``llm`` and ``tts``.
        settings: The process settings (the overrides live there).

    Returns:
        The effective choice per stage.

    Raises:
        UnknownProviderError: A name is not offered for its stage.
    """
    overrides = {
        "stt": settings.stt_provider,
        "llm": settings.llm_provider,
        "tts": settings.tts_provider,
    }
    specs = {stage: effective(chosen[stage], overrides[stage]) for stage in STAGES}
    for stage, builders in STAGES.items():
        if specs[stage].provider not in builders:
            raise UnknownProviderError(stage, specs[stage].provider, list(builders))
    return specs


def build_services(
    chosen: dict[str, ServiceSpec], settings: Settings, *, language: str, prompt: str
) -> Services:
    """Build the STT, LLM and TTS services for one call.

    Args:
        chosen: The persona's choices, keyed ``stt``, ``llm`` and ``tts``.
        settings: The process settings (keys, endpoints, overrides).
        language: The conversation language (e.g. ``en``).
        prompt: The rendered system prompt for this call.

    Returns:
        The built services.

    Raises:
        ProviderError: Unknown provider, missing key or package, or a bad option.
    """
    specs = resolve_specs(chosen, settings)
    closers: Closers = []
    stt = STT_BUILDERS[specs["stt"].provider](specs["stt"], settings, language)
    llm = LLM_BUILDERS[specs["llm"].provider](specs["llm"], settings, prompt)
    tts = TTS_BUILDERS[specs["tts"].provider](specs["tts"], settings, language, closers)
    return Services(stt=stt, llm=llm, tts=tts, specs=specs, closers=closers)


_SERVICE_MODULES = (
    "pipecat.services.deepgram.stt",
    "pipecat.services.cartesia.stt",
    "pipecat.services.cartesia.tts",
    "pipecat.services.elevenlabs.tts",
    "pipecat.services.openai.llm",
    "pipecat.services.openai.stt",
    "pipecat.services.openai.tts",
    "pipecat.services.groq.llm",
    "pipecat.services.groq.stt",
    "pipecat.services.ollama.llm",
)


def preload() -> None:
    """Import every provider's service module now, so no call ever pays for an import."""
    import importlib

    for name in _SERVICE_MODULES:
        importlib.import_module(name)
