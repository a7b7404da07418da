"""Run an ASGI app with uvicorn on 127.0.0.1 and a free port: in the current loop, or a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

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


@contextmanager
def serve_app_in_thread(app) -> Iterator[str]:
    """Serve ``app`` on its own event loop in a thread.

    A stall of the caller's loop is then not also a stall of the app.

    Yields:
        The base URL.
    """
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        box["stop"] = asyncio.Event()
        async with serve_app(app) as base:
            box["base"] = base
            started.set()
            await box["stop"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        if not started.wait(10):
            raise RuntimeError("the app did not start in its thread")
        yield box["base"]
    finally:
        if "stop" in box:
            loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()
