"""Run calls in worker processes: K long-lived workers, or one pre-warmed process per call.

``PROCESS_MODEL=workers`` (the default): ``WORKERS`` processes (default: one per core, at most
4) each host many calls; a call goes to the least busy one; after ``WORKER_MAX_CALLS`` calls a
worker takes no more, finishes its calls and is replaced; a worker that dies is replaced.
``PROCESS_MODEL=process_per_call``: ``PREWARMED_PROCESSES`` idle processes wait, fully loaded;
each call takes one and the process exits with the call. The launcher keeps admission (one cap
for the machine), the registry and drain; media and offers are forwarded (``runner.forward``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loguru import logger
from pipecat.runner.types import (
    DailyRunnerArguments,
    LiveKitRunnerArguments,
    RunnerArguments,
    WebSocketRunnerArguments,
)

from assembly.call import CallContext, new_call_id
from assembly.persona import Persona
from config import Settings
from runner.base import ActiveCall, BadOffer
from runner.forward import relay_twilio, watch_call
from runner.registry import CallRegistry
from runner.workers import WorkerProcess, run_dir, worker_env
from transports.kinds import TransportKind

_ROOM_ARGS = LiveKitRunnerArguments | DailyRunnerArguments
MAX_DEFAULT_WORKERS = 4  # WORKERS=0 on a big machine: one per core, but ~200 MB each


class WorkerPoolRunner(CallRegistry):
    """The launcher side of worker processes (implements ``runner.base.CallRunner``)."""

    def __init__(self, settings: Settings, metrics: Any = None, cpus: int | None = None):
        super().__init__(settings.max_concurrent_calls, metrics)
        self._settings = settings
        self._per_call = settings.process_model == "process_per_call"
        self._size = (
            settings.prewarmed_processes
            if self._per_call
            else settings.workers or min(cpus or 2, MAX_DEFAULT_WORKERS)
        )
        self._dir = run_dir()
        self._env = worker_env(
            {"MAX_CONCURRENT_CALLS": str(max(settings.max_concurrent_calls, 1) * 2)}
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
        self._supervisor = asyncio.create_task(self._supervise())

    async def _supervise(self, every: float = 0.5) -> None:
        """Replace workers that died (a crash ends only the calls that worker hosted)."""
        while True:
            await asyncio.sleep(every)
            for worker in [w for w in self._workers if not w.alive()]:
                logger.error(
                    f"worker {worker.index} (pid {worker.pid}) died with "
                    f"{len(worker.calls)} call(s); replacing it"
                )
                worker.accepting = False
                self._workers.remove(worker)
                if not self._draining:
                    self._replenish()

    async def _spawn(self) -> WorkerProcess:
        worker = WorkerProcess(self._next_index, self._env, self._dir)
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
        if self._per_call:
            idle = [w for w in self._workers if w.accepting and not w.started and w.alive()]
            worker = idle[0] if idle else await self._spawn()  # pool empty: a cold start
            worker.accepting = False
        else:
            ready = [w for w in self._workers if w.accepting and w.alive()]
            worker = min(ready, key=_load) if ready else await self._spawn()
            if worker.started + 1 >= self._settings.worker_max_calls:
                worker.accepting = False  # recycled once its calls are done
        worker.started += 1
        worker.arriving += 1
        self._replenish()
        return worker

    async def _unpick(self, worker: WorkerProcess) -> None:
        """Undo ``_pick`` for a call the worker never started: it does not count to recycling."""
        worker.started -= 1
        worker.arriving -= 1
        room = worker.started == 0 if self._per_call else (
            worker.started < self._settings.worker_max_calls
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
        if not isinstance(args, WebSocketRunnerArguments | _ROOM_ARGS):
            raise ValueError(f"{type(args).__name__} calls go through forward_offer")
        worker = await self._pick()
        try:
            if isinstance(args, WebSocketRunnerArguments):
                ctx, task = await relay_twilio(worker, persona.name, args.websocket)
            else:
                ctx, task = await self._start_room(worker, persona, args, body)
        except BaseException:
            await self._unpick(worker)
            raise
        return self._track(worker, persona.name, ctx, task, started)

    async def _start_room(
        self, worker: WorkerProcess, persona: Persona, args: Any, body: dict[str, Any]
    ) -> tuple[CallContext, asyncio.Task[None]]:
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
        ctx = CallContext(call_id=body["call_id"], persona=persona.name, transport=kind)
        return ctx, asyncio.create_task(watch_call(worker, ctx.call_id))

    def _track(
        self,
        worker: WorkerProcess,
        persona: str,
        ctx: CallContext,
        task: asyncio.Task[None],
        started: float,
    ) -> ActiveCall:
        active = ActiveCall(ctx.call_id, persona, str(ctx.transport), ctx=ctx)
        self._owner[ctx.call_id] = worker
        worker.calls.add(ctx.call_id)
        worker.arriving -= 1
        self._register(active, self._follow(active, worker, task), started)
        logger.info(f"[{ctx.call_id}] {persona} on {ctx.transport} -> worker {worker.index}")
        return active

    async def _follow(
        self, active: ActiveCall, worker: WorkerProcess, task: asyncio.Task[None]
    ) -> None:
        try:
            await task
        except Exception:
            logger.exception(f"[{active.call_id}] forwarding failed")
            active.end_reason = active.end_reason or "error"
        try:
            await watch_call(worker, active.call_id, every=0.05, give_up_after=5.0)
            response = await worker.http.get(f"/internal/calls/{active.call_id}")
            if response.status_code == 200:
                final = response.json()
                active.end_reason = active.end_reason or final.get("end_reason")
                own = active.summary()  # the launcher's view of timings and state wins
                active.final = {k: v for k, v in final.items() if k not in own}
        except Exception:  # the worker is gone: keep what the launcher knows
            active.end_reason = active.end_reason or "worker_lost"
        active.end_reason = active.end_reason or "completed"
        self._owner.pop(active.call_id, None)
        worker.calls.discard(active.call_id)
        self._finished(active)
        await self._retire_if_done(worker)

    # --- browser offers -------------------------------------------------------------------------
    async def forward_offer(
        self, offer: dict[str, Any], client: str | None = None
    ) -> dict[str, Any]:
        """Answer a SmallWebRTC offer from a worker (renegotiations go to the same one).

        Args:
            offer: The checked offer; its ``request_data`` names the persona.
            client: The address that sent it (per-client limits count its calls).

        Raises:
            CallRefused: Full or draining (new connections only).
            BadOffer: The worker refused the SDP (nothing counts toward its recycling).
        """
        pc_id = offer.get("pc_id")
        worker = self._pc_owner.get(pc_id) if pc_id else None
        if worker is not None:
            response = await worker.post("/internal/api/offer", offer)
            response.raise_for_status()
            return response.json()
        with self._admitted():
            started = time.perf_counter()
            data = {**(offer.get("request_data") or {}), "call_id": new_call_id()}
            worker = await self._pick()
            try:
                response = await worker.post(
                    "/internal/api/offer", {**offer, "request_data": data}
                )
                if 400 <= response.status_code < 500:
                    raise BadOffer(response.status_code, _detail(response))
                response.raise_for_status()
            except BaseException:
                await self._unpick(worker)  # a refused offer is not a call the worker ran
                raise
            answer = response.json()
            self._pc_owner[answer["pc_id"]] = worker
            ctx = CallContext(
                call_id=data["call_id"],
                persona=str(data.get("persona") or self._settings.default_persona),
                transport=TransportKind.WEBRTC,
            )
            task = asyncio.create_task(watch_call(worker, ctx.call_id, appear_within=30.0))
            self._track(worker, ctx.persona, ctx, task, started).client = client
            return answer

    async def forward_patch(self, patch: dict[str, Any]) -> None:
        """Trickled ICE candidates go to the worker holding the peer connection.

        Raises:
            KeyError: No such peer connection.
        """
        worker = self._pc_owner[patch["pc_id"]]
        response = await worker.http.patch("/internal/api/offer", json=patch)
        response.raise_for_status()

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
        self._active[call_id].end_reason = "ended_by_api"
        response = await worker.post(f"/internal/calls/{call_id}/end", {"goodbye": goodbye})
        return bool(response.json().get("ok"))

    async def cancel(self, call_id: str, reason: str) -> bool:
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
            for worker in self._workers:
                await worker.post("/internal/drain", {"timeout": 0, "goodbye": goodbye})
            if pending:
                await asyncio.wait(pending, timeout=30)

    async def shutdown(self) -> None:
        """Stop every worker (their calls end with them)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
        for task in list(self._spawning):
            task.cancel()
        await asyncio.gather(*(w.stop() for w in self._workers), return_exceptions=True)
        self._workers.clear()


def _load(worker: WorkerProcess) -> int:
    """A worker's calls, counting those still being handed over.

    A burst of calls is picked before any is tracked; counting only tracked calls sent a whole
    burst to the first worker (incident: 20 simultaneous calls on one of two workers).
    """
    return len(worker.calls) + worker.arriving


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail") or response.text)[:300]
    except ValueError:
        return response.text[:300]
