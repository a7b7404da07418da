"""A real webhook receiver for tests: verifies signatures and dedups by event id, like a CRM."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class Receiver:
    """Accepts events on ``POST /hook``; ``deliveries`` counts every accepted POST per id.

    Args:
        secret: The shared ``WEBHOOK_SECRET``; a bad signature is answered 401.
        port: Fixed port (to come back up at the same URL), 0 for any.
    """

    def __init__(self, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.events: dict[str, dict[str, Any]] = {}  # dedup: one entry per event id
        self.deliveries: dict[str, int] = {}
        self.rejected = 0
        self.fail_next = 0  # answer 500 to this many requests
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        ok = verify(
            self.secret, headers.get(TIMESTAMP_HEADER, ""), body, headers.get(SIGNATURE_HEADER, "")
        )
        if not ok:
            self.rejected += 1
            return web.Response(status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        event = json.loads(body)
        assert event["id"] == headers[EVENT_ID_HEADER]
        self.deliveries[event["id"]] = self.deliveries.get(event["id"], 0) + 1
        self.events.setdefault(event["id"], event)
        return web.json_response({"ok": True})

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
