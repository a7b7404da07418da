"""One LLM pass with a JSON answer: the post-call passes (analysis, memory extraction).

Both passes read a finished call's transcript and ask an OpenAI-compatible chat completions
API (OpenAI, Groq or Ollama) for one JSON object. The endpoint choice, the transcript's
format, the HTTP client (on the process's shared TLS context), JSON mode and the retry count
live here:

- JSON mode: a strict JSON schema on OpenAI when the caller has one, else ``json_object``
  (Groq, Ollama, and OpenAI without a schema).
- Retries: a pass runs as a background job (``postcall.background.run_in_background``) with
  ``ATTEMPTS`` attempts; :func:`json_pass` raises on any failure so the job retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from config import Settings, http_url
from providers.tls import tls_context

ATTEMPTS = 3  # attempts of a post-call pass (the background job retries)
TIMEOUT_SECS = 60.0
SPEAKERS = {"user": "Caller", "assistant": "Agent", "tool": "Tool"}


@dataclass(frozen=True)
class ChatEndpoint:
    """An OpenAI-compatible chat completions endpoint."""

    provider: str
    base_url: str
    model: str
    api_key: str = field(repr=False)


def chat_endpoint(settings: Settings, provider: str, model: str | None) -> ChatEndpoint | None:
    """The endpoint of ``provider`` with ``model`` (else the provider's default model).

    Args:
        settings: Process settings (keys, base URLs, default models).
        provider: ``openai``, ``groq`` or ``ollama``.
        model: The model, or None for the provider's default.

    Returns:
        The endpoint, or None when the provider has no OpenAI-compatible API or no key.
    """
    if provider == "openai" and settings.openai_api_key:
        base = http_url(settings.openai_base_url, "OPENAI_BASE_URL")
        key, default = settings.openai_api_key.get_secret_value(), settings.openai_model
    elif provider == "groq" and settings.groq_api_key:
        base = settings.groq_openai_url.rstrip("/")
        key, default = settings.groq_api_key.get_secret_value(), settings.groq_model
    elif provider == "ollama":
        base = http_url(settings.ollama_base_url, "OLLAMA_BASE_URL")
        key, default = "ollama", settings.ollama_model
    else:
        return None
    return ChatEndpoint(provider=provider, base_url=base, model=model or default, api_key=key)


def transcript_text(turns: Iterable[tuple[str, str, bool]]) -> str:
    """A transcript as the passes show it: ``Caller: ...``, ``Agent: ...`` lines.

    Args:
        turns: ``(role, text, interrupted)`` per turn; roles ``user``, ``assistant``, ``tool``.
    """
    return "\n".join(
        f"{SPEAKERS[role]}: {text.strip()}{' [interrupted]' if interrupted else ''}"
        for role, text, interrupted in turns
        if role in SPEAKERS and text.strip()
    )


def request_body(
    endpoint: ChatEndpoint,
    system: str,
    user: str,
    schema: dict[str, Any] | None = None,
    schema_name: str = "answer",
) -> dict[str, Any]:
    """The chat completions request of one pass (temperature 0, JSON mode, not streamed)."""
    body: dict[str, Any] = {
        "model": endpoint.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0,
        "stream": False,
    }
    if schema is not None and endpoint.provider == "openai":
        strict = {"name": schema_name, "strict": True, "schema": schema}
        body["response_format"] = {"type": "json_schema", "json_schema": strict}
    else:
        body["response_format"] = {"type": "json_object"}
    return body


async def json_pass(
    endpoint: ChatEndpoint,
    system: str,
    user: str,
    schema: dict[str, Any] | None = None,
    schema_name: str = "answer",
) -> Any:
    """Ask for one JSON answer and return it parsed.

    Args:
        endpoint: Where to ask.
        system: The system message (the task, and the transcript if it belongs there).
        user: The user message.
        schema: A strict JSON schema of the answer (used on OpenAI), or None.
        schema_name: The schema's name (OpenAI structured outputs).

    Returns:
        The parsed JSON answer (not yet validated against ``schema``).

    Raises:
        httpx.HTTPError: The provider failed.
        ValueError: The answer holds no JSON.
    """
    body = request_body(endpoint, system, user, schema, schema_name)
    async with httpx.AsyncClient(timeout=TIMEOUT_SECS, verify=tls_context()) as client:
        response = await client.post(
            f"{endpoint.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {endpoint.api_key}"},
        )
    response.raise_for_status()
    return parse_json(response.json()["choices"][0]["message"]["content"] or "")


def parse_json(answer: str) -> Any:
    """An answer's JSON, also when a model wrapped it in a code fence or in prose.

    Raises:
        ValueError: No JSON object in the answer.
    """
    try:
        return json.loads(answer)
    except json.JSONDecodeError:
        pass
    match = re.search(r"\{.*\}", answer, re.DOTALL)
    try:
        return json.loads(match.group(0)) if match else json.loads(answer)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON: {exc}") from exc
