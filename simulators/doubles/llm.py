"""OpenAI-compatible chat completions double (OpenAI ``/v1``, Groq ``/openai/v1``)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from typing import Any

from aiohttp import ClientConnectionResetError, web

from simulators.doubles.auth import openai_auth_error
from simulators.doubles.llm_rules import Reply, choose_reply, tool_call_arguments

_TOKEN_RE = re.compile(r"\s*\S+|\s+")


def tokens(text: str) -> list[str]:
    """Split text into word-sized streaming tokens (leading space kept)."""
    return _TOKEN_RE.findall(text)


def arg_fragments(arguments: str, size: int = 8) -> list[str]:
    """Split a JSON argument string into fragments as the API streams them."""
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


class Completion:
    """Builds the chunks of one streamed completion."""

    def __init__(self, model: str, include_usage: bool, groq: bool) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.groq = groq

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk`` with a single choice."""
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_doubles",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            out["usage"] = None
        return out

    def usage(self, prompt: int, completion: int) -> dict[str, Any]:
        """Usage numbers in the API's shape."""
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def usage_chunk(self, prompt: int, completion: int) -> dict[str, Any]:
        """The final chunk with empty choices and usage."""
        out = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_doubles",
            "choices": [],
            "usage": self.usage(prompt, completion),
        }
        if self.groq:
            out["x_groq"] = {"id": "req_" + secrets.token_hex(12)}
        return out


def prompt_tokens(body: dict[str, Any]) -> int:
    """Rough prompt token count (4 characters per token)."""
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


def completion_message(reply: Reply) -> dict[str, Any]:
    """The non-streaming assistant message for a reply."""
    msg: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        msg["tool_calls"] = [
            {
                "id": "call_" + secrets.token_hex(12),
                "type": "function",
                "function": {"name": c["name"], "arguments": tool_call_arguments(c)},
            }
            for c in reply.tool_calls
        ]
    return msg


def response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a JSON-mode request asks for (``{}`` for ``json_object``), else None."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict((fmt.get("json_schema") or {}).get("schema") or {})
    return {} if fmt.get("type") == "json_object" else None


def _authorize(request: web.Request) -> tuple[Any, str, bool, web.Response | None]:
    """Which API (OpenAI or Groq) a request is for, and its auth error if the key is wrong."""
    state = request.app["state"]
    groq = request.path.startswith("/openai/")
    key = state.creds.groq_key if groq else state.creds.openai_key
    error = openai_auth_error(request, key, groq=groq)
    service = "groq_llm" if groq else "openai_llm"
    if error is not None:
        state.count(service, "auth_failures")
    return state, service, groq, error


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """Handle ``POST .../chat/completions`` (streaming SSE or a single JSON body)."""
    state, service, groq, error = _authorize(request)
    if error is not None:
        return error
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": {"message": "invalid JSON body"}}, status=400)
    messages = body.get("messages") or []
    state.count(service, "requests")
    state.llm_requests.append(
        {
            "time": time.time(),
            "provider": "groq" if groq else "openai",
            "model": body.get("model"),
            "messages": messages,
            "tools": body.get("tools"),
            "tool_choice": body.get("tool_choice"),
            "stream": bool(body.get("stream")),
            "stream_options": body.get("stream_options"),
            "body": body,
        }
    )
    reply = choose_reply(state.llm_rules, messages, response_schema(body), body.get("model"))
    if reply.status:
        return web.json_response(
            {"error": {"message": "scripted failure", "type": "server_error", "code": None}},
            status=reply.status,
        )
    profile = state.profile
    first_ms = (
        reply.first_token_ms if reply.first_token_ms is not None else profile.llm_first_token_ms
    )
    rate = reply.tokens_per_sec or profile.llm_tokens_per_sec
    model = str(body.get("model") or "gpt-4.1")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    comp = Completion(model, include_usage, groq)
    await asyncio.sleep(first_ms / 1000)
    n_completion = len(tokens(reply.text)) + sum(
        len(arg_fragments(tool_call_arguments(c))) for c in reply.tool_calls
    )
    if not body.get("stream"):
        await asyncio.sleep(max(0, n_completion - 1) / rate)
        finish = "tool_calls" if reply.tool_calls else "stop"
        return web.json_response(
            {
                "id": comp.id,
                "object": "chat.completion",
                "created": comp.created,
                "model": model,
                "choices": [
                    {"index": 0, "message": completion_message(reply), "finish_reason": finish}
                ],
                "usage": comp.usage(prompt_tokens(body), n_completion),
            }
        )
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    try:
        await _stream(request, resp, comp, reply, body, rate, include_usage, n_completion)
    except (ConnectionResetError, ClientConnectionResetError):
        pass  # the client hung up mid-stream (an interruption cancels the request): as OpenAI
    return resp


async def _stream(
    request: web.Request,
    resp: web.StreamResponse,
    comp: Any,
    reply: Reply,
    body: dict[str, Any],
    rate: float,
    include_usage: bool,
    n_completion: int,
) -> None:
    """Stream one completion as server-sent events."""
    await resp.prepare(request)

    async def emit(obj: dict[str, Any] | str, pace: bool = True) -> None:
        data = obj if isinstance(obj, str) else json.dumps(obj)
        await resp.write(f"data: {data}\n\n".encode())
        if pace:
            await asyncio.sleep(1.0 / rate)

    await emit(comp.chunk({"role": "assistant", "content": "", "refusal": None}), pace=False)
    for tok in tokens(reply.text):
        await emit(comp.chunk({"content": tok}))
    for index, call in enumerate(reply.tool_calls):
        call_id = "call_" + secrets.token_hex(12)
        head = {"index": index, "id": call_id, "type": "function"}
        await emit(
            comp.chunk(
                {"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]}
            )
        )
        for frag in arg_fragments(tool_call_arguments(call)):
            await emit(
                comp.chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]})
            )
    await emit(comp.chunk({}, "tool_calls" if reply.tool_calls else "stop"), pace=False)
    if include_usage:
        await emit(comp.usage_chunk(prompt_tokens(body), n_completion), pace=False)
    await emit("[DONE]", pace=False)
    await resp.write_eof()


async def list_models(request: web.Request) -> web.Response:
    """Handle ``GET .../models`` (what Switchboard calls to pre-warm the connection)."""
    state, service, groq, error = _authorize(request)
    if error is not None:
        return error
    state.count(service, "models_list")
    names = ["llama-3.3-70b-versatile"] if groq else ["gpt-4o-mini", "gpt-4.1"]
    models = [{"id": n, "object": "model", "created": 0, "owned_by": "doubles"} for n in names]
    return web.json_response({"object": "list", "data": models})
