"""What a tenant's agent config may say, checked against the models a call is built from.

The agents API accepts an ``agent_configs`` row only when every field is valid for the persona
it overrides: providers against :class:`ServiceSpec` and the provider names each stage offers,
tools against :class:`WebhookTool` (names unique beside the persona's own tools), turn-taking
against :class:`TurnSettings` (merged with the persona's own, so a cross-field rule such as
``hold_secs <= max_wait_secs`` holds), and finally the whole overridden :class:`Persona`.
Errors come back field by field, each with the path of the field in the request body
(``["body", "turns", "max_wait_secs"]``) and a message. Last, the providers a row changes are
built once, as a call would build them: an option the provider does not have is an error at
that option; a missing key is only a problem of this launcher's settings, reported, not refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assembly.persona import Persona, TurnSettings
from config import Settings
from providers import STAGES, resolve_specs
from providers.errors import ProviderError, ProviderOptionError
from providers.spec import ServiceSpec
from providers.tts import Closers
from runner.tenant import TenantConfigError, override
from storage.base import AgentConfig
from tools.declared import WebhookTool

Loc = tuple[str | int, ...]
_URL_PREFIXES = ("http://", "https://")


class AgentConfigBody(BaseModel):
    """The editable part of an ``agent_configs`` row (``null`` or empty keeps the persona's)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, max_length=20_000)
    greeting: str | None = Field(default=None, max_length=1_000)
    voice_id: str | None = Field(default=None, max_length=200)
    voice_settings: dict[str, Any] = Field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tools: list[dict[str, Any]] = Field(default_factory=list, max_length=32)
    webhook_urls: list[str] = Field(default_factory=list, max_length=10)
    recording: bool | None = None
    turns: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("prompt", "greeting", "voice_id")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value if value is None or value.strip() else None

    def row(self, tenant: str, persona: str) -> AgentConfig:
        """The row to store."""
        return AgentConfig(tenant=tenant, persona=persona, **self.model_dump())


def _error(loc: Loc, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg}


def _errors(exc: ValidationError, prefix: Loc) -> list[dict[str, Any]]:
    """A model's validation errors, placed under ``prefix`` in the request body."""
    return [_error((*prefix, *err["loc"]), err["msg"], err["type"]) for err in exc.errors()]


def _provider_errors(persona: Persona, body: AgentConfigBody) -> list[dict[str, Any]]:
    found = []
    for stage, change in body.providers.items():
        if stage not in STAGES:
            found.append(_error(("providers", stage), "unknown stage; use stt, llm or tts"))
            continue
        current: ServiceSpec = getattr(persona, stage)
        fields = {**current.model_dump(), **change}
        if change.get("provider") not in (None, current.provider):
            fields = {"options": {}, **change}  # another provider: nothing of the old one
        try:
            spec = ServiceSpec.model_validate(fields)
        except ValidationError as exc:
            found += _errors(exc, ("providers", stage))
            continue
        if spec.provider not in STAGES[stage]:
            offered = ", ".join(sorted(STAGES[stage]))
            found.append(
                _error(
                    ("providers", stage, "provider"),
                    f"unknown {stage} provider {spec.provider!r}; offered: {offered}",
                )
            )
    return found


def _tool_errors(persona: Persona, body: AgentConfigBody) -> list[dict[str, Any]]:
    found = []
    taken = set(persona.tools) | {tool.name for tool in persona.client_tools}
    for index, raw in enumerate(body.tools):
        try:
            tool = WebhookTool.model_validate(raw)
        except ValidationError as exc:
            found += _errors(exc, ("tools", index))
            continue
        if tool.name in taken:
            found.append(_error(("tools", index, "name"), f"a tool named {tool.name!r} exists"))
        taken.add(tool.name)
    return found


def _turn_errors(persona: Persona, body: AgentConfigBody) -> list[dict[str, Any]]:
    try:
        TurnSettings.model_validate({**persona.turns.model_dump(), **body.turns})
    except ValidationError as exc:
        return _errors(exc, ("turns",))
    return []


def field_errors(persona: Persona, body: AgentConfigBody, tenant: str) -> list[dict[str, Any]]:
    """Every reason ``body`` cannot configure ``persona`` (empty: it can).

    Args:
        persona: The persona file's persona.
        body: The requested row.
        tenant: Whose row it is.

    Returns:
        FastAPI-style errors: ``{"type", "loc": ["body", field, ...], "msg"}``.
    """
    found = _provider_errors(persona, body) + _tool_errors(persona, body)
    found += _turn_errors(persona, body)
    for index, url in enumerate(body.webhook_urls):
        if not url.startswith(_URL_PREFIXES) or len(url) > 2_000:
            found.append(_error(("webhook_urls", index), "an http(s) URL of at most 2000 chars"))
    if found:
        return found
    row = body.row(tenant, persona.name).model_copy(update={"enabled": True})
    try:  # the row as a call applies it (were it enabled), validated as a whole persona
        Persona.model_validate(override(persona, row).model_dump())
    except (TenantConfigError, ValidationError) as exc:
        return [_error((), str(exc))]
    return []


def _option_loc(stage: str, message: str, body: AgentConfigBody) -> Loc | None:
    """Where the row set the option a provider refused (None: the row did not set it)."""
    places: list[tuple[Loc, dict[str, Any]]] = [
        (("providers", stage, "options"), body.providers.get(stage, {}).get("options") or {})
    ]
    if stage == "tts":
        places.append((("voice_settings",), body.voice_settings))
    for prefix, options in places:
        for key in options if isinstance(options, dict) else {}:
            if f"unknown option {key!r}" in message:
                return (*prefix, key)
    return None


async def provider_findings(
    persona: Persona, body: AgentConfigBody, tenant: str, settings: Settings, known: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Build the overridden persona's providers once, as a call would, if the row changes any.

    Args:
        persona: The persona file's persona.
        body: The requested row (already passed :func:`field_errors`).
        tenant: Whose row it is.
        settings: This launcher's settings (keys, endpoints, ``*_PROVIDER``).
        known: What the persona file's providers lacked at start-up (used when nothing changes).

    Returns:
        Errors for options the row set that its provider does not have, and problems: what
        would stop a call with these settings (a key that is not set), for information.
    """
    used = override(persona, body.row(tenant, persona.name).model_copy(update={"enabled": True}))
    chosen = {stage: getattr(used, stage) for stage in STAGES}
    if all(chosen[stage] == getattr(persona, stage) for stage in STAGES):
        return [], list(known)
    try:
        specs = resolve_specs(chosen, settings)
    except ProviderError as exc:
        return [], [str(exc)]
    errors: list[dict[str, Any]] = []
    problems: list[str] = []
    closers: Closers = []
    arg = {"stt": used.language, "llm": "agents-check", "tts": used.language}
    for stage, spec in specs.items():
        build = STAGES[stage][spec.provider]
        try:
            if stage == "tts":
                build(spec, settings, arg[stage], closers)
            else:
                build(spec, settings, arg[stage])
        except ProviderOptionError as exc:
            loc = _option_loc(stage, str(exc), body)
            if loc is None:
                problems.append(str(exc))
            else:
                errors.append(_error(loc, str(exc)))
        except ProviderError as exc:
            problems.append(str(exc))
    for close in closers:
        await close()
    return errors, problems


def effective(persona: Persona) -> dict[str, Any]:
    """What a call of ``persona`` uses, as the page shows it (defaults for a new row)."""
    return {
        "name": persona.name,
        "description": persona.description,
        "prompt": persona.prompt,
        "greeting": persona.greeting,
        "voice_id": persona.tts.voice,
        "voice_settings": dict(persona.tts.options),
        "providers": {stage: getattr(persona, stage).model_dump() for stage in STAGES},
        "tools": [tool.name for tool in persona.webhook_tools if isinstance(tool, WebhookTool)],
        "recording": persona.recording,
        "turns": persona.turns.model_dump(mode="json"),
    }
