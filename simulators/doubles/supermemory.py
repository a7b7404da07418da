"""Supermemory double: ``POST /v3/memories`` (add) and ``POST /v3/search`` (document search).

Bearer auth like the real API. Container tags match exactly (as documented: a memory tagged
``["a", "b"]`` is not found by ``["a"]``). Search ranks by shared words, best first, with the
v3 response shape (``results[].chunks[].content``, ``score``, ``total``, ``timing``).

Control: ``GET /_doubles/supermemory`` (documents, requests, delay), ``POST`` with
``{"search_delay_ms": N}`` to slow searches down, ``POST /_doubles/supermemory/reset``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulators.doubles.auth import bearer

_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class SupermemoryState:
    """What the double holds."""

    key: str
    search_delay_ms: float = 0.0
    documents: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget documents and requests; no delay."""
        self.search_delay_ms = 0.0
        self.documents.clear()
        self.requests.clear()


SUPERMEMORY = web.AppKey("supermemory", SupermemoryState)


def _state(request: web.Request) -> SupermemoryState:
    return request.app[SUPERMEMORY]


async def _authorized(request: web.Request) -> dict[str, Any] | web.Response:
    state = _state(request)
    if bearer(request) != state.key:
        error = {"error": "Unauthorized", "details": "invalid API key"}
        return web.json_response(error, status=401)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "Invalid JSON body"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "Body must be an object"}, status=400)
    state.requests.append({"time": time.time(), "path": request.path, "body": body})
    return body


async def add_memory(request: web.Request) -> web.Response:
    """``POST /v3/memories``: queue a document."""
    body = await _authorized(request)
    if isinstance(body, web.Response):
        return body
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        return web.json_response({"error": "content is required"}, status=400)
    doc = {
        "id": "doc_" + secrets.token_hex(8),
        "content": content,
        "containerTags": list(body.get("containerTags") or []),
        "metadata": dict(body.get("metadata") or {}),
        "createdAt": time.time(),
    }
    _state(request).documents.append(doc)
    return web.json_response({"id": doc["id"], "status": "queued"})


async def search(request: web.Request) -> web.Response:
    """``POST /v3/search``: documents of exactly these container tags, by shared words."""
    started = time.perf_counter()
    body = await _authorized(request)
    if isinstance(body, web.Response):
        return body
    state = _state(request)
    if state.search_delay_ms:
        await asyncio.sleep(state.search_delay_ms / 1000)
    query = set(_WORD.findall(str(body.get("q") or "").lower()))
    tags = list(body.get("containerTags") or [])
    limit = int(body.get("limit") or 10)
    scored = []
    for doc in state.documents:
        if tags and doc["containerTags"] != tags:
            continue
        words = set(_WORD.findall(doc["content"].lower()))
        score = len(query & words) / max(1, len(query))
        scored.append((score, doc["createdAt"], doc))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    results = [
        {
            "documentId": doc["id"],
            "title": doc["content"][:40],
            "score": round(score, 3),
            "chunks": [{"content": doc["content"], "score": round(score, 3), "isRelevant": True}],
            "metadata": doc["metadata"],
            "createdAt": doc["createdAt"],
            "updatedAt": doc["createdAt"],
        }
        for score, _, doc in scored[:limit]
    ]
    timing = (time.perf_counter() - started) * 1000
    return web.json_response({"results": results, "total": len(results), "timing": timing})


async def control(request: web.Request) -> web.Response:
    """Read the double's state, or set ``search_delay_ms``."""
    state = _state(request)
    if request.method == "POST":
        body = await request.json()
        state.search_delay_ms = float(body.get("search_delay_ms", state.search_delay_ms))
    return web.json_response(
        {
            "search_delay_ms": state.search_delay_ms,
            "documents": state.documents,
            "requests": state.requests,
        }
    )


async def reset(request: web.Request) -> web.Response:
    """Forget everything."""
    _state(request).reset()
    return web.json_response({"ok": True})


def add_routes(app: web.Application, key: str) -> None:
    """Mount the double (``key`` is the accepted Bearer API key)."""
    app[SUPERMEMORY] = SupermemoryState(key)
    app.router.add_post("/v3/memories", add_memory)
    app.router.add_post("/v3/search", search)
    app.router.add_route("*", "/_doubles/supermemory", control)
    app.router.add_post("/_doubles/supermemory/reset", reset)
