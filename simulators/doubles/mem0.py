"""Mem0 platform double: the endpoints ``mem0.MemoryClient`` calls for Pipecat's Mem0 service.

- ``GET /v1/ping/``: the key check every ``MemoryClient`` makes when built; answers the org
  and project the key belongs to.
- ``POST /v3/memories/add/``: ``{"messages": [...], "user_id"|"agent_id"|"app_id"|"run_id",
  "metadata"}``; answers ``{"event_id", "status": "PENDING"}`` like the real asynchronous add.
- ``POST /v3/memories/search/``: ``{"query", "filters", "top_k", "threshold"}``; entity ids only
  inside ``filters`` (``{"user_id": x}``, ``{"OR"|"AND": [...]}``, values exact, ``"*"`` or
  ``{"in": [...]}``), top-level ones are a 400 as on the platform; answers ``{"results":
  [{"id", "memory", "user_id", ..., "score"}]}`` best first, scores in [0, 1], below
  ``threshold`` (default 0.1) left out.

Auth is ``Authorization: Token <key>``; a missing or wrong key is a 401 with a ``{"detail"}``
body (the client raises ``ValueError("Error: <detail>")`` from its ping).

Known deviations: the platform runs an LLM over the messages (``infer``) and stores the facts
it finds a few seconds later; the double stores each user message as one memory, at once
(an identical memory of the same entity is not stored twice). Search scores are shared-word
fractions, not embeddings.

Control: ``GET /_doubles/mem0`` (memories, requests, delays), ``POST`` with
``{"search_delay_ms": N}`` / ``{"ping_delay_ms": N}`` to slow searches / key checks down,
``POST /_doubles/mem0/reset``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

ENTITIES = ("user_id", "agent_id", "app_id", "run_id")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Mem0State:
    """What the double holds."""

    key: str
    search_delay_ms: float = 0.0
    ping_delay_ms: float = 0.0
    memories: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget memories and requests; no delays."""
        self.search_delay_ms = 0.0
        self.ping_delay_ms = 0.0
        self.memories.clear()
        self.requests.clear()


MEM0 = web.AppKey("mem0", Mem0State)


def _state(request: web.Request) -> Mem0State:
    return request.app[MEM0]


def _bad_request(message: str) -> web.Response:
    return web.json_response(
        {"error": "400 Bad Request", "details": {"message": message}}, status=400
    )


def _auth_error(request: web.Request) -> web.Response | None:
    """The 401 for a missing or wrong ``Token`` key (recorded), or None."""
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    if scheme == "Token" and key.strip() == _state(request).key:
        return None
    record = {"time": time.time(), "path": request.path, "body": None, "status": 401}
    _state(request).requests.append(record)
    if not auth:
        detail = "Authentication credentials were not provided."
        return web.json_response({"detail": detail}, status=401)
    return web.json_response({"detail": "Invalid API key"}, status=401)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    """The authorized request's JSON object body, recorded; or the error to answer."""
    denied = _auth_error(request)
    if denied is not None:
        return denied
    try:
        body = await request.json()
    except ValueError:
        return _bad_request("Invalid JSON body")
    if not isinstance(body, dict):
        return _bad_request("Body must be a JSON object")
    _state(request).requests.append({"time": time.time(), "path": request.path, "body": body})
    return body


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def ping(request: web.Request) -> web.Response:
    """``GET /v1/ping/``: the key's organization and project."""
    denied = _auth_error(request)
    if denied is not None:
        return denied
    state = _state(request)
    state.requests.append({"time": time.time(), "path": request.path, "body": None})
    if state.ping_delay_ms:
        await asyncio.sleep(state.ping_delay_ms / 1000)
    return web.json_response(
        {
            "status": "ok",
            "org_id": "org_doubles",
            "project_id": "proj_doubles",
            "user_email": "switchboard@doubles.test",
        }
    )


async def add_memories(request: web.Request) -> web.Response:
    """``POST /v3/memories/add/``: each user message becomes a memory of the given entity."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad_request("messages must be a non-empty list")
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        return _bad_request("each message needs a role and a string content")
    owner = {k: body[k] for k in ENTITIES if isinstance(body.get(k), str) and body[k]}
    if not owner:
        return _bad_request("At least one of user_id, agent_id, app_id or run_id is required")
    state = _state(request)
    for message in messages:
        text = message["content"].strip()
        if message.get("role") != "user" or not text:
            continue
        known = [m for m in state.memories if m["memory"] == text and _owned_by(m, owner)]
        if known:
            known[0]["updated_at"] = _now()
            continue
        state.memories.append(
            {
                "id": str(uuid.uuid4()),
                "memory": text,
                **{k: owner.get(k) for k in ENTITIES},
                "metadata": dict(body.get("metadata") or {}),
                "categories": [],
                "created_at": _now(),
                "updated_at": None,
            }
        )
    return web.json_response({"event_id": str(uuid.uuid4()), "status": "PENDING"})


def _owned_by(memory: dict[str, Any], owner: dict[str, str]) -> bool:
    return all(memory.get(k) == v for k, v in owner.items())


def _matches(memory: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a memory passes a filters object (logical and entity clauses)."""
    for name, value in filters.items():
        if name in ("AND", "OR"):
            clauses = [c for c in value if isinstance(c, dict)]
            test = all if name == "AND" else any
            if not test(_matches(memory, c) for c in clauses):
                return False
        elif name == "NOT":
            if any(_matches(memory, c) for c in value if isinstance(c, dict)):
                return False
        elif value == "*":
            if memory.get(name) is None:
                return False
        elif isinstance(value, dict) and "in" in value:
            if memory.get(name) not in value["in"]:
                return False
        elif memory.get(name) != value:
            return False
    return True


def _entity_ids(filters: Any) -> bool:
    """Whether a filters object names at least one entity id somewhere."""
    if not isinstance(filters, dict):
        return False
    for name, value in filters.items():
        if name in ENTITIES:
            return True
        if name in ("AND", "OR", "NOT") and isinstance(value, list):
            if any(_entity_ids(c) for c in value):
                return True
    return False


async def search(request: web.Request) -> web.Response:
    """``POST /v3/memories/search/``: the filtered memories by shared words, best first."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    state = _state(request)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("query is required")
    if any(k in body for k in ENTITIES):
        return _bad_request("Entity ids (user_id, agent_id, app_id, run_id) go in filters")
    filters = body.get("filters")
    if not _entity_ids(filters):
        return _bad_request("filters must name at least one of user_id, agent_id, app_id, run_id")
    top_k = int(body.get("top_k") or 10)
    threshold = float(body.get("threshold") if body.get("threshold") is not None else 0.1)
    if not 1 <= top_k <= 1000:
        return _bad_request("top_k must be between 1 and 1000")
    if state.search_delay_ms:
        await asyncio.sleep(state.search_delay_ms / 1000)
    words = set(_WORD.findall(query.lower()))
    scored = []
    for memory in state.memories:
        if not _matches(memory, filters):
            continue
        score = len(words & set(_WORD.findall(memory["memory"].lower()))) / max(1, len(words))
        if score >= threshold:
            scored.append((round(score, 3), memory["created_at"], memory))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return web.json_response({"results": [{**m, "score": s} for s, _, m in scored[:top_k]]})


async def control(request: web.Request) -> web.Response:
    """Read the double's state, or set ``search_delay_ms``."""
    state = _state(request)
    if request.method == "POST":
        body = await request.json()
        state.search_delay_ms = float(body.get("search_delay_ms", state.search_delay_ms))
        state.ping_delay_ms = float(body.get("ping_delay_ms", state.ping_delay_ms))
    return web.json_response(
        {
            "search_delay_ms": state.search_delay_ms,
            "ping_delay_ms": state.ping_delay_ms,
            "memories": state.memories,
            "requests": state.requests,
        }
    )


async def reset(request: web.Request) -> web.Response:
    """Forget everything."""
    _state(request).reset()
    return web.json_response({"ok": True})


def add_routes(app: web.Application, key: str) -> None:
    """Mount the double (``key`` is the accepted ``Token`` API key)."""
    app[MEM0] = Mem0State(key)
    app.router.add_get("/v1/ping/", ping)
    app.router.add_post("/v3/memories/add/", add_memories)
    app.router.add_post("/v3/memories/search/", search)
    app.router.add_route("*", "/_doubles/mem0", control)
    app.router.add_post("/_doubles/mem0/reset", reset)
