"""Errors the provider factory raises before a call starts, each naming what to fix."""

from __future__ import annotations


class ProviderError(ValueError):
    """A provider cannot be built for this call."""


class UnknownProviderError(ProviderError):
    """The persona or environment named a provider we do not offer for that stage."""

    def __init__(self, stage: str, name: str, valid: list[str]):
        super().__init__(
            f"unknown {stage.upper()} provider {name!r}; valid {stage.upper()} providers: "
            + ", ".join(sorted(valid))
        )
        self.stage = stage
        self.name = name


class MissingKeyError(ProviderError):
    """A provider needs an API key (or endpoint) that is not configured."""

    def __init__(self, variable: str, what: str):
        super().__init__(
            f"{variable} is not set: {what} needs it (set it in the environment or .env)"
        )
        self.variable = variable


class ProviderUnavailableError(ProviderError):
    """A provider's optional package is not installed."""

    def __init__(self, name: str, install: str):
        super().__init__(f"provider {name!r} needs an extra package: {install}")
        self.name = name


class ProviderOptionError(ProviderError):
    """A persona passed an option the provider's ``Settings`` do not have."""
