"""The persona registry: every persona file in ``bots/``, listed explicitly by name.

A name from user input is only ever looked up in :data:`PERSONAS`; it never becomes an
import path. Adding a persona means adding one file and one line below.
"""

from __future__ import annotations

# `python -m bots` runs this package before bots/__main__.py, and it loads numpy (assembly).
import config.blas  # noqa: F401  (first: one BLAS thread before numpy loads)

from collections.abc import Awaitable, Callable
from types import ModuleType

from assembly.persona import Persona
from bots import assistant, coach, companion, receptionist
from providers import STAGES
from providers.errors import UnknownProviderError
from tools import resolve_tools

_MODULES: tuple[ModuleType, ...] = (receptionist, coach, companion, assistant)


class UnknownPersonaError(LookupError):
    """The requested persona does not exist."""

    def __init__(self, name: str):
        super().__init__(f"unknown persona {name!r}; valid personas: {', '.join(sorted(PERSONAS))}")
        self.name = name


def _checked(persona: Persona) -> Persona:
    """Check a persona's tools and provider names when it is registered."""
    resolve_tools(persona.tools)
    for stage, builders in STAGES.items():
        spec = getattr(persona, stage)
        if spec.provider not in builders:
            raise UnknownProviderError(stage, spec.provider, list(builders))
    return persona


PERSONAS: dict[str, Persona] = {m.PERSONA.name: _checked(m.PERSONA) for m in _MODULES}
_BOTS: dict[str, Callable[..., Awaitable[None]]] = {m.PERSONA.name: m.bot for m in _MODULES}


def get_persona(name: str) -> Persona:
    """The persona called ``name``.

    Raises:
        UnknownPersonaError: No such persona (the message lists the valid names).
    """
    try:
        return PERSONAS[name]
    except KeyError:
        raise UnknownPersonaError(name) from None


def get_bot(name: str) -> Callable[..., Awaitable[None]]:
    """The persona's ``bot(runner_args)`` entry point."""
    get_persona(name)
    return _BOTS[name]
