"""Run calls in worker processes: K long-lived workers, or one pre-warmed process per call.

``PROCESS_MODEL=workers`` (the default): ``WORKERS`` processes (default: one per core, at most
4) each host many calls; a call goes to the least busy one; after ``WORKER_MAX_CALLS`` calls a
worker takes no more, finishes its calls and is replaced; a worker that dies is replaced.
``PROCESS_MODEL=process_per_call``: ``PREWARMED_PROCESSES`` idle processes wait, fully loaded;
each call takes one and the process exits with the call. The launcher keeps admission (one cap
for the machine), the registry and drain. A Twilio stream's connection is handed to the worker
(``hand_over``, called by ``launcher.front``), so its media never passes through the launcher;
offers and room calls are forwarded over HTTP; each worker reports its calls' starts and ends on
its event stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import httpx
from loguru import logger
from pipecat.runner.types import (
    DailyRunnerArguments,
    LiveKitRunnerArguments,
    RunnerArguments,
    WebSocketRunnerArguments,
)

from assembly.call import CallContext, new_call_id
from assembly.persona import Persona
from calls.end_reason import EndReason
from config import Settings
from runner.base import ActiveCall, CallRefused
from runner.heap import freeze_startup_heap
from runner.pool_offers import OfferForwarding
from runner.registry import CallRegistry
from runner.stream_handovers import StreamHandovers
from runner.worker_events import WorkerGone
from runner.workers import WorkerProcess, run_dir, worker_env
from transports.kinds import TransportKind

_ROOM_ARGS = LiveKitRunnerArguments | DailyRunnerArguments
MAX_DEFAULT_WORKERS = 4  # WORKERS=0 on a big machine: one per core, but ~200 MB each


class WorkerPoolRunner(OfferForwarding, CallRegistry):
    """The launcher side of worker processes (implements ``runner.base.CallRunner``)."""

    def __init__(
        self,
        settings: Settings,
        metrics: Any = None,
        cpus: int | None = None,
        media_secret: str | None = None,
    ):
        super().__init__(settings.max_concurrent_calls, metrics)
        self._settings = settings
        self.recycle_after: int | None = None  # workers recycle; the launcher lives on
        self._per_call = settings.process_model == "process_per_call"
        self._size = (
            settings.prewarmed_processes
            if self._per_call
            else settings.workers or min(cpus or 2, MAX_DEFAULT_WORKERS)
        )
        self._dir = run_dir()
        env = {"MAX_CONCURRENT_CALLS": str(max(settings.max_concurrent_calls, 1) * 2)}
        if media_secret:  # workers check the media tokens the launcher issues
            env["MEDIA_TOKEN_SECRET"] = media_secret
        self._env = worker_env(env)
        self._streams = StreamHandovers(
            settings.media_handshake_timeout_secs + 5, settings.media_token_ttl_secs
        )
        self._workers: list[WorkerProcess] = []
        self._next_index = 0
        self._owner: dict[str, WorkerProcess] = {}
        self._pc_owner: dict[str, WorkerProcess] = {}
        self._spawning: set[asyncio.Task[WorkerProcess]] = set()
        self._supervisor: asyncio.Task[None] | None = None

    # --- workers ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Start the workers (the launcher's start-up waits for them), then watch them."""
        await asyncio.gather(*(self._spawn() for _ in range(self._size)))
        freeze_startup_heap()  # the launcher's own start-up: its full collections stay short
        self._supervisor = asyncio.create_task(self._supervise())

    async def _supervise(self, every: float = 0.5) -> None:
        """Replace workers that died (a crash ends only the calls that worker hosted)."""
        while True:
            await asyncio.sleep(every)
            self._streams.prune()
            for worker in [w for w in self._workers if not w.alive()]:
                logger.error(
                    f"worker {worker.index} (pid {worker.pid}) died with "
                    f"{len(worker.calls) + worker.lost_calls} call(s); replacing it"
                )
                worker.accepting = False
                self._workers.remove(worker)
                if not self._draining:
                    self._replenish()

    async def _spawn(self) -> WorkerProcess:
        worker = WorkerProcess(self._next_index, self._env, self._dir, self._on_event)
        self._next_index += 1
        await worker.start()
        self._workers.append(worker)
        return worker

    def _replenish(self) -> None:
        idle = sum(1 for w in self._workers if w.accepting and not w.started)
        wanted = self._size - idle - len(self._spawning) if self._per_call else 0
        wanted = max(wanted, self._size - len(self._workers) - len(self._spawning))
        for _ in range(max(0, wanted)):
            task = asyncio.create_task(self._spawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    async def _pick(self) -> WorkerProcess:
        worker = self._choose()
        if worker is None:  # pool empty: a cold start
            worker = await self._spawn()
            self._claim(worker)
        return worker

    def _choose(self) -> WorkerProcess | None:
        """Claim the least busy worker (per call: an idle one) for a new call, if one is ready."""
        if self._per_call:
            idle = [w for w in self._workers if w.accepting and not w.started and w.alive()]
            worker = idle[0] if idle else None
        else:
            ready = [w for w in self._workers if w.accepting and w.alive()]
            worker = min(ready, key=_load) if ready else None
        if worker is not None:
            self._claim(worker)
        return worker

    def _claim(self, worker: WorkerProcess) -> None:
        if self._per_call or worker.started + 1 >= self._settings.worker_max_calls:
            worker.accepting = False  # recycled (or, per call, gone) once its calls are done
        worker.started += 1
        worker.arriving += 1
        self._replenish()

    async def _unpick(self, worker: WorkerProcess) -> None:
        """Undo ``_pick`` for a call the worker never started: it does not count to recycling."""
        worker.started -= 1
        worker.arriving -= 1
        room = (
            worker.started == 0
            if self._per_call
            else (worker.started < self._settings.worker_max_calls)
        )
        worker.accepting = room and worker.alive() and not self._draining
        await self._retire_if_done(worker)

    async def _retire_if_done(self, worker: WorkerProcess) -> None:
        if not worker.accepting and not worker.calls:
            if worker in self._workers:
                self._workers.remove(worker)
            elif not worker.alive():
                return  # already replaced by the supervisor
            logger.info(f"worker {worker.index} retired after {worker.started} call(s)")
            await worker.stop(timeout=30)  # its post-call jobs finish first (up to 15 s)
            if not self._draining:
                self._replenish()

    # --- start ----------------------------------------------------------------------------------
    async def start(self, persona: Persona, runner_args: RunnerArguments) -> ActiveCall:
        """Hand a call to a worker.

        Raises:
            CallRefused: Full or draining.
        """
        with self._admitted():
            return await self._start(persona, runner_args)

    async def _start(self, persona: Persona, args: RunnerArguments) -> ActiveCall:
        started = time.perf_counter()
        body = args.body if isinstance(args.body, dict) else {}
        if isinstance(args, WebSocketRunnerArguments):
            # Streams are handed to a worker before the launcher reads them (``hand_over``);
            # one that reaches the launcher found no worker able to take it.
            raise CallRefused("busy")
        if not isinstance(args, _ROOM_ARGS):
            raise ValueError(f"{type(args).__name__} calls go through answer_offer")
        worker = await self._pick()
        try:
            ctx = await self._start_room(worker, persona, args, body)
        except BaseException:
            await self._unpick(worker)
            raise
        return self._track(worker, persona.name, ctx, started)

    # --- media streams ------------------------------------------------------------------------
    def hand_over(self, call_id: str, fd: int, head: bytes) -> bool:
        """Give a Twilio media stream's connection to a worker (see ``launcher.front``).

        A second stream for the same call goes to the worker that had the first (which refuses
        a replayed token). False: full, draining or no worker ready; the launcher then serves
        (and refuses) the stream itself.
        """
        if self.admission() is not None:
            return False
        routed = self._streams.routed(call_id)
        if routed is not None and routed.alive():
            worker: WorkerProcess | None = routed
            self._claim(routed)
        else:
            worker = self._choose()
        if worker is None:
            return False
        try:
            worker.hand_over(fd, call_id, head)
        except OSError as exc:
            logger.error(f"[{call_id}] stream not handed to worker {worker.index}: {exc}")
            asyncio.ensure_future(self._unpick(worker))
            return False
        self._reserved += 1
        self._streams.sent(call_id, worker, self._stream_lost)
        return True

    def _on_event(self, worker: WorkerProcess, kind: str, data: dict[str, Any]) -> None:
        """A worker's call event: a handed-over stream became a call, or was refused."""
        call_id = str(data.get("call_id") or "")
        if kind not in ("started", "refused"):
            return
        pending = self._streams.resolve(call_id, worker)
        if pending is None:
            return  # a room or browser call: the launcher tracked it when it asked for it
        self._reserved -= 1
        if kind == "refused":
            asyncio.ensure_future(self._unpick(worker))
            return
        ctx = CallContext(
            call_id=call_id,
            persona=str(data.get("persona")),
            transport=TransportKind.TWILIO,
            caller_number=data.get("caller_number"),
            called_number=data.get("called_number"),
            tenant=str(data.get("tenant") or "default"),
            provider_call_id=data.get("provider_call_id"),
        )
        self._track(worker, ctx.persona, ctx, pending.handed_at)

    def _stream_lost(self, call_id: str) -> None:
        pending = self._streams.resolve(call_id)
        if pending is not None:
            logger.warning(f"[{call_id}] worker {pending.worker.index} never started the stream")
            self._reserved -= 1
            asyncio.ensure_future(self._unpick(pending.worker))

    async def _start_room(
        self, worker: WorkerProcess, persona: Persona, args: Any, body: dict[str, Any]
    ) -> CallContext:
        livekit = isinstance(args, LiveKitRunnerArguments)
        body = {**body, "call_id": body.get("call_id") or new_call_id()}
        payload = {
            "persona": persona.name,
            "kind": "livekit" if livekit else "daily",
            "url": args.url if livekit else args.room_url,
            "token": args.token,
            "room_name": args.room_name if livekit else None,
            "body": body,
        }
        response = await worker.post("/internal/calls", payload)
        response.raise_for_status()
        kind = TransportKind.LIVEKIT if livekit else TransportKind.DAILY
        return CallContext(call_id=body["call_id"], persona=persona.name, transport=kind)

    def _track(
        self,
        worker: WorkerProcess,
        persona: str,
        ctx: CallContext,
        started: float,
        appear_within: float | None = None,
    ) -> ActiveCall:
        active = ActiveCall(ctx.call_id, persona, str(ctx.transport), ctx=ctx)
        self._owner[ctx.call_id] = worker
        worker.calls.add(ctx.call_id)
        worker.arriving -= 1
        outcome = worker.events.outcome(ctx.call_id, appear_within)
        self._register(active, self._follow(active, worker, outcome), started)
        logger.info(f"[{ctx.call_id}] {persona} on {ctx.transport} -> worker {worker.index}")
        return active

    async def _follow(
        self, active: ActiveCall, worker: WorkerProcess, outcome: Awaitable[dict[str, Any]]
    ) -> None:
        """Wait for the worker's word that the call ended (no polling), keep its final details."""
        try:
            final = await outcome
            reported = final.get("end_reason")
            active.end_reason = active.end_reason or (EndReason(reported) if reported else None)
            own = active.summary()  # the launcher's view of timings and state wins
            active.final = {k: v for k, v in final.items() if k not in own}
        except WorkerGone:  # keep what the launcher knows
            active.end_reason = active.end_reason or EndReason.WORKER_LOST
            worker.lost_calls += 1
        active.end_reason = active.end_reason or EndReason.COMPLETED
        self._owner.pop(active.call_id, None)
        worker.calls.discard(active.call_id)
        self._finished(active)
        await self._retire_if_done(worker)

    def live_workers(self) -> list[WorkerProcess]:
        """Workers running now (for scraping their metrics)."""
        return [w for w in self._workers if w.alive()]

    # --- control ----------------------------------------------------------------------------------
    async def details(self, call_id: str) -> dict[str, Any] | None:
        """Live details from the owning worker; the final ones once the call ended."""
        worker = self._owner.get(call_id)
        active = self.get(call_id)
        if worker is not None and active is not None:
            response = await worker.http.get(f"/internal/calls/{call_id}")
            if response.status_code == 200:
                return {**response.json(), **active.summary(), "worker_pid": worker.pid}
        return active.details() if active is not None else None

    async def end(self, call_id: str, goodbye: str | None = None) -> bool:
        """Ask the owning worker to say goodbye and hang up."""
        worker = self._owner.get(call_id)
        if worker is None:
            return False
        self._active[call_id].end_reason = EndReason.ENDED_BY_API
        response = await worker.post(f"/internal/calls/{call_id}/end", {"goodbye": goodbye})
        return bool(response.json().get("ok"))

    async def cancel(self, call_id: str, reason: EndReason) -> bool:
        """Stop a call now."""
        worker = self._owner.get(call_id)
        if worker is None:
            return False
        self._active[call_id].end_reason = reason
        response = await worker.post(f"/internal/calls/{call_id}/cancel", {"reason": reason})
        return bool(response.json().get("ok"))

    async def drain(self, timeout: float, goodbye: str) -> None:
        """Stop taking calls, let active ones finish, then end the rest politely."""
        self._draining = True
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for worker in self.live_workers():
                try:
                    await worker.post("/internal/drain", {"timeout": 0, "goodbye": goodbye})
                except httpx.HTTPError as exc:  # it died meanwhile: its calls ended with it
                    logger.warning(f"worker {worker.index}: drain not delivered ({exc!r})")
            if pending:
                await asyncio.wait(pending, timeout=30)

    async def shutdown(self) -> None:
        """Stop every worker (their calls end with them)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
        spawning = list(self._spawning)
        for task in spawning:
            task.cancel()  # a worker still starting is killed (``WorkerProcess.start``)
        await asyncio.gather(*spawning, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self._workers), return_exceptions=True)
        self._workers.clear()


def _load(worker: WorkerProcess) -> int:
    """A worker's calls, counting those still being handed over.

    A burst of calls is picked before any is tracked; counting only tracked calls sent a whole
    burst to the first worker (incident: 20 simultaneous calls on one of two workers).
    """
    return len(worker.calls) + worker.arriving
