"""Each call's one :class:`storage.call_writer.CallWriter`, shared by its plugins."""

from __future__ import annotations

from assembly.call import Call
from storage.call_writer import CallWriter

_KEY = "call_writer"


def writer_for(call: Call) -> CallWriter:
    """The call's writer, created on first use and shared by its plugins."""
    writer = call.resources.get(_KEY)
    if writer is None:
        writer = call.resources[_KEY] = CallWriter(call.ctx.call_id)
    return writer
