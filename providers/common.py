"""Helpers shared by the STT, LLM and TTS builders."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from pydantic import SecretStr

from providers.errors import MissingKeyError, ProviderOptionError
from providers.spec import ServiceSpec


def require(value: SecretStr | str | None, variable: str, what: str) -> str:
    """Return a configured secret or endpoint, or raise naming the variable.

    Args:
        value: The configured value (``SecretStr`` for keys).
        variable: The environment variable that sets it.
        what: Who needs it, for the message (e.g. "the deepgram STT").

    Returns:
        The plain string value.
    """
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not plain:
        raise MissingKeyError(variable, what)
    return plain


def effective(spec: ServiceSpec, override: str | None) -> ServiceSpec:
    """Apply an environment override: another provider means that provider's defaults."""
    if override and override != spec.provider:
        return ServiceSpec(provider=override)
    return spec


def settings_for(service_cls: Any, spec: ServiceSpec, **base: Any) -> Any:
    """Build ``service_cls.Settings`` from defaults plus the persona's provider options.

    Args:
        service_cls: A Pipecat service class with a ``Settings`` dataclass.
        spec: The persona's choice for this stage.
        **base: Values we always set (model, voice, system instruction, ...); ``None`` skipped.

    Returns:
        A ``Settings`` instance.

    Raises:
        ProviderOptionError: An option is not a field of the service's ``Settings``.
    """
    settings_cls = service_cls.Settings
    known = {f.name for f in fields(settings_cls)} if is_dataclass(settings_cls) else set()
    values = {k: v for k, v in base.items() if v is not None}
    for key, value in spec.options.items():
        if key not in known:
            raise ProviderOptionError(
                f"{spec.provider}: unknown option {key!r} for {service_cls.__name__}; "
                f"valid: {', '.join(sorted(k for k in known if not k.startswith('_')))}"
            )
        values[key] = value
    return settings_cls(**values)
