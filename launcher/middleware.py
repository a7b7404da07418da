"""HTTP middleware: request body size limit, no secrets in URLs, CORS for configured origins."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import Settings


class BodyLimit:
    """Reject request bodies over ``limit`` bytes with 413, whatever the route."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body as it arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen, exceeded, responded = 0, False, False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # A chunked body over the limit: whatever the route made of it (FastAPI answers
            # 400 for a body it could not read), the client gets 413.
            nonlocal responded
            if message["type"] == "http.response.start":
                if responded:
                    return
                responded = True
                if exceeded:
                    await _too_large(send, self.limit)
                    return
            elif exceeded:
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not responded:
                await _too_large(send, self.limit)


class NoKeysInUrls:
    """Refuse a URL that carries an API key (``?api_key=...``) with 400, before it is logged.

    Keys go in headers only: a URL ends up in access logs, proxies and browser history. The
    key is blanked in the request itself, so uvicorn's access log never sees it either.
    """

    NAMES = frozenset({"api_key", "apikey", "api-key", "x-api-key", "key", "access_token"})

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, unless its query string names a key."""
        query = scope.get("query_string") or b""
        if scope["type"] not in ("http", "websocket") or not query:
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        if not any(name.lower() in self.NAMES for name, _ in pairs):
            await self.app(scope, receive, send)
            return
        scope["query_string"] = urlencode(
            [(n, "[redacted]" if n.lower() in self.NAMES else v) for n, v in pairs]
        ).encode("latin-1")
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "key in URL"})
            return
        await _json_error(send, 400, "send the API key in a header (Authorization: Bearer or "
                          "X-API-Key), never in the URL")


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    await _json_error(send, 413, f"request body larger than {limit} bytes")


async def _json_error(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, settings: Settings) -> None:
    """Add the body limit, and CORS for ``CORS_ORIGINS`` (none by default: same origin only)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(NoKeysInUrls)
