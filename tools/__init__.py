"""The tool catalogue: names a persona may list, mapped to tools.

A persona lists tool *names*; the assembly looks them up here, so an unknown name is a clear
error when the persona is registered, never an import path built from user input. Personas can
also declare webhook tools and client tools as data (``tools.declared``). Every tool reaches the
LLM through :func:`assembly.call_tools.call_tools`, guarded by ``tools.spec.guarded`` (argument
validation, errors as results, timing).
"""

from __future__ import annotations

from config import Settings
from tools.appointments import book_appointment, check_availability
from tools.call_control import end_call
from tools.client import DEVICE_TOOLS, client_spec
from tools.email_tools import send_booking_confirmation, send_email
from tools.for_staff import schedule_callback, send_to_voicemail, take_message
from tools.screenshot import SPEC as SCREENSHOT
from tools.spec import ToolSpec, from_function
from tools.transfer import transfer_call, transfer_immediate

# Tools that say something themselves get no "one moment" filler.
_FUNCTIONS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        from_function(end_call, speaks=True),
        from_function(transfer_call, speaks=True),
        from_function(transfer_immediate, speaks=True),  # no filler: nothing is said
        from_function(send_to_voicemail, speaks=True),
        from_function(take_message),
        from_function(schedule_callback),
        from_function(check_availability),
        from_function(book_appointment),
        from_function(send_email),
        from_function(send_booking_confirmation),
    )
}
_FUNCTIONS[SCREENSHOT.name] = SCREENSHOT  # a client tool whose answer is an image
_CLIENT_NAMES = frozenset(tool.name for tool in DEVICE_TOOLS)

TOOLS: frozenset[str] = frozenset(_FUNCTIONS) | _CLIENT_NAMES


class UnknownToolError(ValueError):
    """A persona lists a tool the catalogue does not have."""


def resolve_tools(
    names: tuple[str, ...] | list[str], settings: Settings | None = None
) -> list[ToolSpec]:
    """Look up catalogue tools by name.

    Args:
        names: Tool names as a persona lists them.
        settings: Settings (client-tool timeouts); None uses the defaults.

    Raises:
        UnknownToolError: A name is not in the catalogue (the message lists valid names).
    """
    missing = [name for name in names if name not in TOOLS]
    if missing:
        raise UnknownToolError(
            f"unknown tool(s) {', '.join(missing)}; valid tools: {', '.join(sorted(TOOLS))}"
        )
    device = {tool.name: tool for tool in DEVICE_TOOLS}
    return [
        _FUNCTIONS[name] if name in _FUNCTIONS else client_spec(device[name], settings)
        for name in names
    ]
