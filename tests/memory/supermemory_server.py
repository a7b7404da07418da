"""The Supermemory double on its own in-process server (127.0.0.1, a free port)."""

from __future__ import annotations

from simulators.doubles import supermemory
from tests.memory.double_server import serve_double

KEY = "sm_test_key"


def supermemory_double():
    """An async context yielding ``(base_url, state)`` of a running Supermemory double."""
    return serve_double(supermemory.add_routes, KEY, supermemory.SUPERMEMORY)
