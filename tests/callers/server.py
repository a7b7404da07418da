"""Run an ASGI app with uvicorn inside the current event loop, on 127.0.0.1 and a free port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from loguru import logger


@asynccontextmanager
async def serve_app(app, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` for the duration of the ``async with`` block.

    Args:
        app: Any ASGI application (e.g. FastAPI).
        host: Address to bind (loopback by default).

    Yields:
        The base URL, e.g. ``http://127.0.0.1:41234``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        logger.debug(f"serving test app on http://{host}:{port}")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=5.0)
        except TimeoutError:
            task.cancel()
        sock.close()
