"""Pre-warm provider connections when a call starts, so the first turn pays no handshake.

Websocket services (Deepgram, Cartesia, ElevenLabs) connect on the pipeline's StartFrame by
themselves. HTTP services (OpenAI-compatible LLMs) open their connection on first request;
a cheap authenticated ``GET /models`` at start puts a warm keep-alive connection in the pool.
"""

from __future__ import annotations

import asyncio
from typing import Any

from loguru import logger

from providers.backups import members

_WARMUP_TIMEOUT_SECS = 3.0
_tasks: set[asyncio.Task[None]] = set()


async def _warm_openai_client(name: str, client: Any) -> None:
    try:
        await asyncio.wait_for(client.models.list(), timeout=_WARMUP_TIMEOUT_SECS)
        logger.debug(f"pre-warmed {name}")
    except Exception as exc:  # a failed warm-up only costs the first turn a handshake
        logger.debug(f"pre-warm of {name} skipped: {type(exc).__name__}")


def prewarm(services: Any) -> None:
    """Start warming HTTP provider connections in the background (never blocks the call)."""
    llm = members(services.llm)[0]  # the primary: a backup pays its handshake if ever used
    client = getattr(llm, "_client", None)
    if client is not None and hasattr(client, "models"):
        task = asyncio.create_task(_warm_openai_client(type(llm).__name__, client))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
