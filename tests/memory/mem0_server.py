"""The Mem0 platform double on its own in-process server (127.0.0.1, a free port)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from aiohttp import web

from tests.doubles import mem0

KEY = "m0-test-key"


@asynccontextmanager
async def mem0_double():
    """Yield ``(base_url, state)`` of a running Mem0 double."""
    app = web.Application()
    mem0.add_routes(app, KEY)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app[mem0.MEM0]
    finally:
        await runner.cleanup()
