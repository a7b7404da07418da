"""After the call: an LLM pass over the transcript extracts memories worth keeping.

It is one ``providers.json_pass`` pass on the persona's LLM provider (OpenAI, Groq, Ollama) in
JSON mode (``{"memories": ["...", ...]}``); each memory is stored through the memory backend.
It runs in the background (``postcall.background.run_in_background``, ``ATTEMPTS`` attempts),
so ending a call never waits for it.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from config import Settings
from memory.base import MemoryBackend
from providers.json_pass import ChatEndpoint, chat_endpoint, json_pass, parse_json, transcript_text

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


def llm_endpoint(settings: Settings, provider: str, model: str | None) -> ChatEndpoint | None:
    """The persona's LLM as a chat endpoint (``LLM_PROVIDER`` overrides it, default model).

    Returns:
        The endpoint, or None if the provider has no OpenAI-compatible API or lacks a key.
    """
    if settings.llm_provider and settings.llm_provider != provider:
        provider, model = settings.llm_provider, None  # the override uses its default model
    return chat_endpoint(settings, provider, model)


def spoken_turns(messages: list[Any]) -> list[tuple[str, str, bool]]:
    """The spoken conversation of an LLM context: ``(role, text, False)`` per message."""
    return [
        (m["role"], m["content"], False)
        for m in messages
        if isinstance(m, dict)
        and m.get("role") in ("user", "assistant")
        and isinstance(m.get("content"), str)
        and m["content"].strip()
    ]


def parse_memories(answer: Any) -> list[str]:
    """The memories in the LLM's JSON answer (parsed, or its text)."""
    if isinstance(answer, str):
        try:
            answer = parse_json(answer)
        except ValueError:
            return []
    items = answer.get("memories") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return []
    out = [str(i).strip()[:MAX_MEMORY_CHARS] for i in items if isinstance(i, str) and i.strip()]
    return out[:MAX_MEMORIES]


async def extract_memories(endpoint: ChatEndpoint, turns: list[tuple[str, str, bool]]) -> list[str]:
    """Ask the LLM for the memories in a transcript."""
    user = f"{EXTRACTION_REQUEST}\n{transcript_text(turns)}"
    return parse_memories(await json_pass(endpoint, EXTRACTION_PROMPT, user))


async def extract_and_store(
    endpoint: ChatEndpoint,
    backend: MemoryBackend,
    messages: list[Any],
    tenant: str,
    caller_key: str,
    call_id: str,
) -> list[str]:
    """Extract memories from a finished call's messages and store them; returns them."""
    turns = spoken_turns(messages)
    if not any(role == "user" for role, _, _ in turns):
        return []
    memories = await extract_memories(endpoint, turns)
    if memories:
        await backend.add(tenant, caller_key, memories, source_call_id=call_id)
    logger.info(f"[{call_id}] stored {len(memories)} memories ({backend.name})")
    return memories
