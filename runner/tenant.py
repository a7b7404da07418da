"""A tenant's ``agent_configs`` row overrides the persona file when a call starts.

Prompt, greeting, voice (id and settings), providers, declarative webhook tools, the
recording flag and turn-taking settings come from the row when it sets them; ``None`` or empty
keeps the persona's value. A disabled row refuses the call. Rows are read when each call starts
(never cached), so an edit through the agents API applies to the next call in every process.
"""

from __future__ import annotations

import re
from typing import Any

from loguru import logger
from pydantic import ValidationError

from assembly.persona import Persona, TurnSettings
from providers.spec import ServiceSpec
from storage.base import AgentConfig, Storage

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_STAGES = ("stt", "llm", "tts")


class TenantConfigError(ValueError):
    """The tenant's configuration refuses or breaks this call (the message says why)."""


def _spec(current: ServiceSpec, change: Any, stage: str) -> ServiceSpec:
    """A stage's spec with the row's changes: another provider replaces it, else fields merge."""
    if not isinstance(change, dict):
        raise TenantConfigError(f"providers.{stage} must be an object, not {type(change).__name__}")
    if change.get("provider") not in (None, current.provider):
        fields: dict[str, Any] = {"options": {}, **change}
    else:
        fields = {
            **current.model_dump(),
            **{k: v for k, v in change.items() if k != "options"},
            "options": {**current.options, **(change.get("options") or {})},
        }
    try:
        return ServiceSpec(**fields)
    except ValidationError as exc:
        raise TenantConfigError(f"providers.{stage} is not a valid provider choice: {exc}") from exc


def override(persona: Persona, config: AgentConfig) -> Persona:
    """The persona as the tenant's row configures it.

    Raises:
        TenantConfigError: The row is disabled or malformed.
    """
    if not config.enabled:
        raise TenantConfigError(
            f"persona {persona.name!r} is disabled for tenant {config.tenant!r}"
        )
    changes: dict[str, Any] = {}
    if config.prompt:
        changes["prompt"] = config.prompt
    if config.greeting:
        changes["greeting"] = config.greeting
    unknown = set(config.providers) - set(_STAGES)
    if unknown:
        raise TenantConfigError(f"providers has unknown stages {sorted(unknown)}")
    for stage in _STAGES:
        if stage in config.providers:
            changes[stage] = _spec(getattr(persona, stage), config.providers[stage], stage)
    tts = changes.get("tts", persona.tts)
    if config.voice_id or config.voice_settings:
        tts = tts.model_copy(
            update={
                "voice": config.voice_id or tts.voice,
                "options": {**tts.options, **config.voice_settings},
            }
        )
        changes["tts"] = tts
    if config.tools:
        changes["webhook_tools"] = tuple(dict(tool) for tool in config.tools)
    if config.recording is not None:
        changes["recording"] = config.recording
    if config.turns:
        changes["turns"] = turn_settings(persona.turns, config.turns)
    return persona.with_overrides(**changes)


def turn_settings(current: TurnSettings, change: dict[str, Any]) -> TurnSettings:
    """The persona's turn settings with the row's fields changed (validated as a whole).

    Raises:
        TenantConfigError: A field is unknown or out of range.
    """
    try:
        return TurnSettings.model_validate({**current.model_dump(), **change})
    except ValidationError as exc:
        raise TenantConfigError(f"turns is not valid: {exc}") from exc


async def apply_tenant_config(storage: Storage | None, persona: Persona, tenant: str) -> Persona:
    """The persona for a call of ``tenant``: the file, overridden by the tenant's row if any.

    Args:
        storage: The opened storage backend (None: no overrides, e.g. the CLI).
        persona: The persona file's persona.
        tenant: ``CallContext.tenant``.

    Returns:
        The persona to build the call with.

    Raises:
        TenantConfigError: An invalid tenant name, or a disabled or malformed row.
    """
    if not _TENANT.match(tenant):
        raise TenantConfigError(f"invalid tenant name {tenant[:70]!r}")
    if storage is None:
        return persona
    config = await storage.get_agent_config(tenant, persona.name)
    if config is None:
        return persona
    overridden = override(persona, config)
    logger.info(f"tenant {tenant}: {persona.name} overridden by its agent config")
    return overridden
