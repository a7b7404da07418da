"""The Mem0 platform double on its own in-process server (127.0.0.1, a free port)."""

from __future__ import annotations

from simulators.doubles import mem0
from tests.memory.double_server import serve_double

KEY = "m0-test-key"


def mem0_double():
    """An async context yielding ``(base_url, state)`` of a running Mem0 double."""
    return serve_double(mem0.add_routes, KEY, mem0.MEM0)
