"""A real webhook receiver on 127.0.0.1 for tool tests: verifies signatures, can be slow."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Receiver:
    """Answers ``POST /{tool}``; records each request and whether its signature verified.

    Args:
        secret: The shared signing secret.
        delay_secs: Seconds to wait before answering (to exceed a tool's timeout).
        answer: JSON to answer with.
    """

    secret: str
    delay_secs: float = 0.0
    answer: Any = field(default_factory=lambda: {"answer": "Our office opens at nine"})
    requests: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        self.requests.append({
            "path": request.path,
            "body": json.loads(body),
            "signature_ok": verify(self.secret, timestamp, body, signature),
        })  # fmt: skip
        if not self.requests[-1]["signature_ok"]:
            return web.json_response({"error": "bad signature"}, status=401)
        await asyncio.sleep(self.delay_secs)
        return web.json_response(self.answer)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tool}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
