"""Run one memory-service double on its own in-process server (127.0.0.1, a free port)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serve_double(
    add_routes: Callable[[web.Application, str], None], key: str, state_key: Any
) -> AsyncIterator[tuple[str, Any]]:
    """Yield ``(base_url, state)`` of a double whose routes ``add_routes`` mounts."""
    app = web.Application()
    add_routes(app, key)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app[state_key]
    finally:
        await runner.cleanup()
