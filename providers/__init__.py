"""Provider factory: persona choices + settings → Pipecat STT, LLM and TTS services.

Endpoints and keys come from :class:`config.Settings` only. Every problem a call could hit
with its providers (unknown name, missing key, missing package, bad option) is raised here,
before the call starts, as a :class:`ProviderError` that names what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from config import Settings
from providers.backups import with_backup
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
    "backup_specs",
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


def _per_stage(settings: Settings, suffix: str) -> dict[str, str | None]:
    """A per-stage setting: ``stt_<suffix>``, ``llm_<suffix>``, ``tts_<suffix>``."""
    return {stage: getattr(settings, f"{stage}_{suffix}") for stage in STAGES}


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
    overrides = _per_stage(settings, "provider")
    specs = {stage: effective(chosen[stage], overrides[stage]) for stage in STAGES}
    for stage, builders in STAGES.items():
        if specs[stage].provider not in builders:
            raise UnknownProviderError(stage, specs[stage].provider, list(builders))
    return specs


def backup_specs(
    chosen: dict[str, ServiceSpec | None], settings: Settings
) -> dict[str, ServiceSpec]:
    """The backup per stage: the persona's (``stt_backup``, ...), else ``*_BACKUP_PROVIDER``.

    Args:
        chosen: The persona's backups, keyed ``stt``, ``llm`` and ``tts`` (None: none).
        settings: The process settings.

    Returns:
        The stages that have a backup, with its choice.

    Raises:
        UnknownProviderError: A name is not offered for its stage.
    """
    env = _per_stage(settings, "backup_provider")
    specs: dict[str, ServiceSpec] = {}
    for stage, builders in STAGES.items():
        spec = chosen.get(stage) or (ServiceSpec(provider=env[stage]) if env[stage] else None)
        if spec is None:
            continue
        if spec.provider not in builders:
            raise UnknownProviderError(stage, spec.provider, list(builders))
        specs[stage] = spec
    return specs


def _build(stage: str, spec: ServiceSpec, settings: Settings, arg: str, closers: Closers) -> Any:
    builder = STAGES[stage][spec.provider]
    if stage == "tts":
        return builder(spec, settings, arg, closers)
    return builder(spec, settings, arg)


def build_services(
    chosen: dict[str, ServiceSpec],
    settings: Settings,
    *,
    language: str,
    prompt: str,
    backups: dict[str, ServiceSpec | None] | None = None,
) -> Services:
    """Build the STT, LLM and TTS services for one call, each with its backup if any.

    Args:
        chosen: The persona's choices, keyed ``stt``, ``llm`` and ``tts``.
        settings: The process settings (keys, endpoints, overrides).
        language: The conversation language (e.g. ``en``).
        prompt: The rendered system prompt for this call.
        backups: The persona's backups, keyed like ``chosen`` (see :func:`backup_specs`).

    Returns:
        The built services: a stage with a backup is a Pipecat ``ServiceSwitcher``.

    Raises:
        ProviderError: Unknown provider, missing key or package, or a bad option (of the
            primary; a backup that cannot be built is left out with a warning).
    """
    specs = resolve_specs(chosen, settings)
    closers: Closers = []
    args = {"stt": language, "llm": prompt, "tts": language}
    built: dict[str, Any] = {}
    for stage in STAGES:
        built[stage] = _build(stage, specs[stage], settings, args[stage], closers)
    for stage, spec in backup_specs(backups or {}, settings).items():
        try:
            backup = _build(stage, spec, settings, args[stage], closers)
        except ProviderError as e:
            logger.warning(f"the {stage} backup {spec.provider} is left out: {e}")
            continue
        built[stage] = with_backup(
            stage,
            built[stage],
            backup,
            probe_secs=settings.llm_probe_secs,
            probe_timeout_secs=settings.llm_first_token_timeout_secs,
        )
        specs[f"{stage}_backup"] = spec
    return Services(specs=specs, closers=closers, **built)


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
