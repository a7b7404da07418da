"""The tool catalogue: names a persona may list, mapped to Pipecat direct functions.

A persona lists tool *names*; the assembly looks them up here, so an unknown name is a clear
error when the persona is registered, never an import path built from user input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.call_control import end_call

TOOLS: dict[str, Callable[..., Any]] = {
    "end_call": end_call,
}


class UnknownToolError(ValueError):
    """A persona lists a tool the catalogue does not have."""


def resolve_tools(names: tuple[str, ...] | list[str]) -> list[Callable[..., Any]]:
    """Look up tool functions by name.

    Raises:
        UnknownToolError: A name is not in the catalogue (the message lists valid names).
    """
    missing = [name for name in names if name not in TOOLS]
    if missing:
        raise UnknownToolError(
            f"unknown tool(s) {', '.join(missing)}; valid tools: {', '.join(sorted(TOOLS))}"
        )
    return [TOOLS[name] for name in names]
