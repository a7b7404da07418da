"""Run calls as asyncio tasks inside the launcher process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loguru import logger
from pipecat.runner.types import RunnerArguments

from assembly.call import CallPlugin, new_call_id
from assembly.persona import Persona
from assembly.pipeline import build_call
from assembly.run import run_call, transport_for
from assembly.warmup import warm_call_path
from bots import PERSONAS
from calls.end_reason import EndReason
from config import Settings
from providers import preload as preload_providers
from runner.base import ActiveCall
from runner.heap import freeze_startup_heap
from runner.registry import CallRegistry
from runner.tenant import apply_tenant_config
from runner.webrtc_offers import LocalOffers
from transports import preload as preload_transports
from turntaking.models import preload as preload_models


class InProcessRunner(CallRegistry):
    """Each call is a task in this event loop; the loop never waits on a call's work."""

    def __init__(
        self,
        settings: Settings,
        plugins: list[CallPlugin] | None = None,
        metrics: Any = None,
        resources: dict[str, Any] | None = None,
    ):
        super().__init__(settings.max_concurrent_calls, metrics)
        self._settings = settings
        self._resources = resources or {}
        self._plugins = plugins or []
        self._offers = LocalOffers(self.start)
        self.recycle_after: int | None = settings.worker_max_calls

    async def open(self) -> None:
        """Pay imports, models and each persona's first call once, before any call."""
        preload_models()
        preload_providers()
        preload_transports()
        warm_call_path(self._settings, PERSONAS.values())
        freeze_startup_heap()  # last: the warm-up's survivors are start-up objects too

    def hand_over(self, call_id: str, fd: int, head: bytes) -> bool:
        """Calls run in this process: the launcher serves their media streams itself."""
        return False

    async def answer_offer(
        self, persona: Persona, offer: dict[str, Any], client: str | None = None
    ) -> dict[str, Any]:
        """Answer a browser's offer here; its call starts once the peer connects."""
        return await self._offers.answer(persona, offer, client)

    async def patch_offer(self, patch: dict[str, Any]) -> None:
        """Trickled ICE candidates for a peer connection held here."""
        await self._offers.patch(patch)

    async def start(self, persona: Persona, runner_args: RunnerArguments) -> ActiveCall:
        """Build the call now (so errors surface to the caller) and run it in the background.

        Raises:
            CallRefused: Full or draining (checked before any work is done).
        """
        with self._admitted():
            if not isinstance(runner_args.body, dict):
                runner_args.body = {}
            runner_args.body.setdefault("call_id", new_call_id())
            return await self._start(persona, runner_args)

    async def _start(self, persona: Persona, runner_args: RunnerArguments) -> ActiveCall:
        started = time.perf_counter()
        transport, ctx = await transport_for(runner_args, persona, self._settings)
        with logger.contextualize(call_id=ctx.call_id):
            persona = await apply_tenant_config(self._resources.get("storage"), persona, ctx.tenant)
            return self._launch(persona, transport, ctx, started)

    def _launch(self, persona: Persona, transport: Any, ctx: Any, started: float) -> ActiveCall:
        call = build_call(
            persona, transport, ctx, self._settings, list(self._plugins), self._resources
        )
        active = ActiveCall(ctx.call_id, persona.name, str(ctx.transport), call=call)
        self._register(active, self._run(active), started)
        logger.info(f"[{ctx.call_id}] started {persona.name} on {ctx.transport}")
        return active

    async def _run(self, active: ActiveCall) -> None:
        with logger.contextualize(call_id=active.call_id):
            await self._run_logged(active)

    async def _run_logged(self, active: ActiveCall) -> None:
        try:
            await run_call(active.call)
            active.end_reason = active.end_reason or active.call.end_reason or EndReason.COMPLETED
        except Exception:
            active.end_reason = EndReason.ERROR
            logger.exception(f"[{active.call_id}] call failed")
        finally:
            active.ended_at = time.time()
            active.release()  # keep the summary, drop the pipeline (bench: +2 MB per call)
            self._finished(active)

    async def details(self, call_id: str) -> dict[str, Any] | None:
        """Summary, transcript so far and per-turn latency of one call, or None."""
        active = self.get(call_id)
        return active.details() if active is not None else None

    async def end(self, call_id: str, goodbye: str | None = None) -> bool:
        """Say goodbye and hang up."""
        active = self._active.get(call_id)
        if active is None:
            return False
        active.end_reason = EndReason.ENDED_BY_API
        await active.call.end(goodbye, reason=EndReason.ENDED_BY_API)
        return True

    async def cancel(self, call_id: str, reason: EndReason) -> bool:
        """Stop a call now, without a goodbye (its room is gone, the caller left)."""
        active = self._active.get(call_id)
        if active is None:
            return False
        active.end_reason = reason
        await active.call.cancel(reason=reason)
        return True

    async def drain(self, timeout: float, goodbye: str) -> None:
        """Stop taking calls, let active ones finish for ``timeout`` s, then end them politely."""
        self._draining = True
        tasks = list(self._tasks.values())
        if tasks:
            logger.info(f"draining: {len(tasks)} call(s) may run for up to {timeout:.0f}s")
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for active in list(self._active.values()):
                active.end_reason = EndReason.DRAINED
                await active.call.end(goodbye, reason=EndReason.DRAINED)
            if pending:
                await asyncio.wait(pending, timeout=30)

    async def shutdown(self) -> None:
        """Cancel every call still running."""
        for active in list(self._active.values()):
            await active.call.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
