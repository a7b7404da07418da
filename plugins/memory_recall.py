"""The memory plugin: recall before each LLM turn and extraction after the call.

For personas with ``memory=True``: in ``Slot.BEFORE_LLM`` it adds a
:class:`~memory.recall.MemoryRecall` processor; after the call it starts the extraction pass
(``memory.extract``) in the background.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.processors.frame_processor import FrameProcessor

from assembly.call import Call, CallPlugin, Slot
from config import Settings
from memory.base import MemoryBackend
from memory.extract import extract_and_store, llm_endpoint
from memory.recall import MemoryRecall
from postcall.background import run_in_background
from providers.json_pass import ATTEMPTS


class MemoryPlugin(CallPlugin):
    """Recall before each turn and extraction after the call, for ``persona.memory`` calls.

    Args:
        settings: Process settings (budget, limit, backend, extraction's LLM endpoint).
        backend: The memory backend (one per process, shared by calls).
        metrics: The launcher's metrics (``memory_recall_misses``, ``memory_recall_seconds``)
            or None.
    """

    def __init__(self, settings: Settings, backend: MemoryBackend, metrics: Any = None):
        self.settings = settings
        self.backend = backend
        self.metrics = metrics

    def _wanted(self, call: Call) -> bool:
        return bool(call.persona.memory and call.ctx.caller_key)

    def processors(self, call: Call) -> dict[Slot, list[FrameProcessor]]:
        """A recall processor before the LLM, if the persona remembers and the caller is known."""
        if not self._wanted(call):
            return {}
        misses = getattr(self.metrics, "memory_recall_misses", None)
        seconds = getattr(self.metrics, "memory_recall_seconds", None)
        recall = MemoryRecall(
            self.backend,
            call.ctx.tenant,
            str(call.ctx.caller_key),
            self.settings.memory_recall_budget_ms / 1000,
            self.settings.memory_recall_limit,
            on_recall=seconds.observe if seconds is not None else None,
            on_miss=(lambda reason: misses.labels(reason=reason).inc()) if misses else None,
        )
        return {Slot.BEFORE_LLM: [recall]}

    async def detach(self, call: Call) -> None:
        """Start the extraction pass in the background (never delays the call's end)."""
        if not self._wanted(call) or not self.settings.memory_extract:
            return
        spec = call.persona.llm
        endpoint = llm_endpoint(self.settings, spec.provider, spec.model)
        if endpoint is None:
            logger.warning(f"[{call.ctx.call_id}] no OpenAI-compatible LLM for memory extraction")
            return
        messages = list(call.context.get_messages())
        ctx = call.ctx

        def job() -> Any:
            return extract_and_store(
                endpoint, self.backend, messages, ctx.tenant, str(ctx.caller_key), ctx.call_id
            )

        run_in_background(f"memory extraction {ctx.call_id}", job, attempts=ATTEMPTS)
