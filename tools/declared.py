"""Tools declared as data (in a persona file or a tenant's config), not written as Python.

- :class:`WebhookTool`: the call is POSTed, signed, to a URL (n8n, Zapier, your backend).
- :class:`ClientTool`: the caller's app does it (battery, location, flashlight...).

``url`` and ``secret`` accept ``$NAME``: the value of the setting ``NAME`` (an environment
variable read by ``config.Settings``), so persona files never hold deployment URLs or secrets.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from config import Settings

_TOOL_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")


def _check_name(value: str) -> str:
    if not _TOOL_NAME.match(value):
        raise ValueError("tool names are letters, digits and underscores (at most 64)")
    return value


def _check_parameters(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("type", "object") != "object":
        raise ValueError("parameters must be a JSON schema of type object")
    if not isinstance(value.get("properties", {}), dict):
        raise ValueError("parameters.properties must be an object")
    return value


class DeclaredTool(BaseModel):
    """What the LLM sees of a declared tool."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema (type object) of the arguments",
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("parameters")
    @classmethod
    def _valid_parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_parameters(value)

    @property
    def properties(self) -> dict[str, Any]:
        """The arguments' schemas."""
        return dict(self.parameters.get("properties") or {})

    @property
    def required(self) -> list[str]:
        """Required argument names."""
        return list(self.parameters.get("required") or [])


class WebhookTool(DeclaredTool):
    """A tool run by POSTing ``{tool, arguments, call_id}`` to ``url``.

    Attributes:
        url: Where to POST (``$SETTING`` reads a setting).
        secret: HMAC-SHA256 signing secret, or ``$SETTING``; empty sends unsigned requests.
        timeout_secs: Give up after this long (the LLM gets an error); None uses
            ``WEBHOOK_TOOL_TIMEOUT_SECS``.
    """

    url: str
    secret: SecretStr | None = None
    timeout_secs: float | None = Field(default=None, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if value.startswith("$"):
            return _check_setting(value)
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must be http(s)://... or $SETTING_NAME")
        return value

    @field_validator("secret")
    @classmethod
    def _valid_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("$"):
            _check_setting(value.get_secret_value())
        return value


def _check_setting(value: str) -> str:
    if value[1:].lower() not in Settings.model_fields:
        raise ValueError(f"{value[1:]} is not a setting (see .env.example)")
    return value


class ClientTool(DeclaredTool):
    """A tool the caller's app runs over the data channel (RTVI or LiveKit data).

    Attributes:
        timeout_secs: How long to wait for the app's answer; None uses
            ``CLIENT_TOOL_TIMEOUT_SECS``.
    """

    timeout_secs: float | None = Field(default=None, gt=0, le=120)
