"""After the call: an LLM pass over the transcript extracts memories worth keeping.

It talks to the persona's LLM provider through its OpenAI-compatible API (OpenAI, Groq,
Ollama), asks for JSON (``{"memories": ["...", ...]}``) and stores each memory through the
memory backend. It runs in the background (``postcall.background.run_in_background``), so
ending a call never waits for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from loguru import logger
from openai import AsyncOpenAI

from config import Settings
from memory.base import MemoryBackend

EXTRACTION_PROMPT = (
    "You keep a voice assistant's long-term memory about one caller. From the call transcript, "
    "extract durable facts worth remembering in later calls: goals, plans, preferences, "
    "commitments, names, important events. Write each as one short third-person sentence "
    "about the caller. Skip small talk and anything the assistant said that the caller did "
    'not confirm. Answer with JSON only: {"memories": ["...", ...]} (an empty list if none).'
)
EXTRACTION_REQUEST = "Extract memories from this call transcript:"
MAX_MEMORIES = 10
MAX_MEMORY_CHARS = 500


@dataclass(frozen=True)
class LLMEndpoint:
    """An OpenAI-compatible chat endpoint."""

    base_url: str
    api_key: str
    model: str


def llm_endpoint(settings: Settings, provider: str, model: str | None) -> LLMEndpoint | None:
    """The OpenAI-compatible endpoint of ``provider`` (None if it has none or lacks a key)."""
    if settings.llm_provider and settings.llm_provider != provider:
        provider, model = settings.llm_provider, None  # the override uses its default model
    if provider == "openai" and settings.openai_api_key:
        key, base = settings.openai_api_key, settings.openai_base_url
        default = settings.openai_model
    elif provider == "groq" and settings.groq_api_key:
        key, base, default = settings.groq_api_key, settings.groq_openai_url, settings.groq_model
    elif provider == "ollama":
        return LLMEndpoint(settings.ollama_base_url, "ollama", model or settings.ollama_model)
    else:
        return None
    return LLMEndpoint(base, key.get_secret_value(), model or default)


def transcript_lines(messages: list[Any]) -> list[str]:
    """``Caller: ...`` / ``Assistant: ...`` lines of the spoken conversation."""
    lines = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        text = m.get("content")
        if isinstance(text, str) and text.strip():
            who = "Caller" if m["role"] == "user" else "Assistant"
            lines.append(f"{who}: {text.strip()}")
    return lines


def parse_memories(answer: str) -> list[str]:
    """The memories in the LLM's JSON answer (tolerates code fences and surrounding text)."""
    match = re.search(r"\{.*\}", answer or "", re.DOTALL)
    if not match:
        return []
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    items = data.get("memories") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    out = [str(i).strip()[:MAX_MEMORY_CHARS] for i in items if isinstance(i, str) and i.strip()]
    return out[:MAX_MEMORIES]


async def extract_memories(endpoint: LLMEndpoint, lines: list[str]) -> list[str]:
    """Ask the LLM for the memories in a transcript."""
    client = AsyncOpenAI(api_key=endpoint.api_key, base_url=endpoint.base_url, timeout=60)
    try:
        response = await client.chat.completions.create(
            model=endpoint.model,
            messages=[
                {"role": "system", "content": EXTRACTION_PROMPT},
                {"role": "user", "content": "\n".join([EXTRACTION_REQUEST, *lines])},
            ],
            temperature=0,
        )
    finally:
        await client.close()
    return parse_memories(response.choices[0].message.content or "")


async def extract_and_store(
    endpoint: LLMEndpoint,
    backend: MemoryBackend,
    messages: list[Any],
    tenant: str,
    caller_key: str,
    call_id: str,
) -> list[str]:
    """Extract memories from a finished call's messages and store them; returns them."""
    lines = transcript_lines(messages)
    if not any(line.startswith("Caller:") for line in lines):
        return []
    memories = await extract_memories(endpoint, lines)
    if memories:
        await backend.add(tenant, caller_key, memories, source_call_id=call_id)
    logger.info(f"[{call_id}] stored {len(memories)} memories ({backend.name})")
    return memories
