"""``python -m bench soak``: calls placed continuously for minutes, with provider faults injected.

The real launcher and the provider doubles on the Twilio path, set up as ``python -m bench
turns`` does (exact-text STT and its fixed provider delays, the multi-voice corpus). ``--calls``
callers stay live: when a call ends the next starts, until ``--minutes`` have passed. Each call
says a few complete utterances and a closing ("... bye", answered with ``end_call``); each turn
gets a fault with probability ``--fault-rate`` (``bench/soak_faults.py``). Measured at the
caller (``bench/soak_measure.py``) and summarised in a Markdown table (``bench/soak_report.py``)
and ``bench/results/soak-*.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from loguru import logger
from tqdm import tqdm

from bench.calls import wait_idle
from bench.report import launcher_log_summary, write_json
from bench.sampler import rss_mb
from bench.soak_faults import (
    FAULT_KINDS,
    REPLY_WAIT_SECS,
    CallPlan,
    FaultEvent,
    FaultingCaller,
    llm_rules,
    plan_call,
    pools_by_voice,
    script,
)
from bench.soak_measure import attribute, drop_reason, failover_counts, turn_rows
from bench.soak_report import format_soak, summarize
from bench.stack import BenchSetupError, Stack, running_stack
from bench.turn_corpus import COMPLETE_KINDS, corpus
from bench.turns import TURNS_PROFILE
from simulators.doubles.client import DoublesClient

MAX_REDIALS = 10  # a caller told "all our lines are busy" tries again, this many times
REDIAL_SECS = 1.0

REPO = Path(__file__).resolve().parent.parent
_DEFAULT_OUT = Path(__file__).resolve().parent / "results"
BACKUP_LLM = "groq"


@dataclass
class SoakConfig:
    """Options of a ``soak`` run (``python -m bench soak --help``)."""

    calls: int = 20
    minutes: float = 10.0
    seed: int = 1
    fault_rate: float = 0.15
    faults: tuple[str, ...] = FAULT_KINDS
    turns: tuple[int, int] = (2, 4)
    voices: list[str] | None = None
    backup: bool = True
    profile: dict[str, Any] = field(default_factory=dict)
    launcher_env: dict[str, str] = field(default_factory=dict)
    out: Path = _DEFAULT_OUT


def add_soak_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``soak`` subcommand."""
    p = sub.add_parser("soak", help="calls placed continuously for minutes, faults injected")
    p.add_argument("--calls", type=int, default=20, help="calls kept live at once (default 20)")
    p.add_argument("--minutes", type=float, default=10.0, help="how long new calls are placed")
    p.add_argument("--seed", type=int, default=1, help="seed of the calls and faults")
    p.add_argument("--fault-rate", type=float, default=0.15,
                   help="probability that a caller turn gets a fault (default 0.15)")
    p.add_argument("--faults", nargs="+", choices=FAULT_KINDS, default=list(FAULT_KINDS),
                   help="fault kinds drawn from (default: all)")
    p.add_argument("--turns", type=int, nargs=2, default=[2, 4], metavar=("MIN", "MAX"),
                   help="caller turns per call before the closing (default 2 4)")
    p.add_argument("--voices", nargs="+", default=None, help="only these corpus voices")
    p.add_argument("--no-backup", action="store_true",
                   help=f"do not give the launcher LLM_BACKUP_PROVIDER={BACKUP_LLM}")
    p.add_argument("--out", type=Path, default=_DEFAULT_OUT, help="directory for the JSON")
    p.add_argument("--launcher-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra launcher environment, repeatable")
    p.add_argument("--profile", help="doubles latency profile overrides: JSON or a JSON file")
    p.add_argument("--log-level", default="WARNING", help="bench/caller log level on stderr")


def backup_available() -> bool:
    """Whether the launcher knows ``LLM_BACKUP_PROVIDER`` (listed in ``.env.example``)."""
    example = REPO / ".env.example"
    text = example.read_text() if example.exists() else ""
    return any(line.startswith("LLM_BACKUP_PROVIDER=") for line in text.splitlines())


def primary_model(launcher_env: dict[str, str]) -> str:
    """The model the receptionist's primary LLM asks for (what the fault rules target)."""
    from bots.receptionist import PERSONA

    return launcher_env.get("OPENAI_MODEL") or str(PERSONA.llm.model)


def _prepare(items: list, model: str, state: dict[str, Any]):
    def prepare(client: DoublesClient) -> None:
        answer = client.stt_utterances([(i.pcm, i.rate, list(i.chunks)) for i in items])
        if answer.get("rejected"):
            raise BenchSetupError(f"STT double rejected utterances: {answer['rejected']}")
        try:
            client.llm_rules(llm_rules(model))
            state["llm_fault_model"] = model
        except httpx.HTTPStatusError as exc:  # the double does not know the rule key "model"
            if exc.response.status_code != 400:
                raise
            logger.warning(f"LLM double refused the rule key 'model': {exc.response.text}")
            client.llm_rules(llm_rules(None))
            state["llm_fault_model"] = None

    return prepare


class _Soak:
    """The running soak: lanes of calls, fault injection and the collected figures."""

    def __init__(self, stack: Stack, cfg: SoakConfig, pools: dict) -> None:
        self.stack, self.cfg, self.pools = stack, cfg, pools
        self.rng = random.Random(cfg.seed)
        self.numbers = itertools.count()
        self.rows: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.events: list[FaultEvent] = []
        self.rss_timeline: list[tuple[float, float]] = []
        self.deadline = 0.0

    async def inject(self, kind: str, call: int, turn: int) -> FaultEvent:
        """Drop one busy STT (``stt_drop``) or TTS (``tts_drop``) socket now.

        One connection, picked at random among those busy now (hearing speech, synthesising
        a reply): usually this call's, sometimes another call's busy at the same moment (its
        turn is then reported as collateral). Providers drop connections one by one; dropping
        every call's socket at each fault made every call's TTS fail three times within 5 s
        of reconnecting, which Pipecat rightly takes for a TTS that cannot work.
        """
        service = "deepgram" if kind == "stt_drop" else "elevenlabs"
        code = self.rng.choice((1011, 1000)) if kind == "stt_drop" else 1011
        at = time.monotonic()
        try:
            n = await self.stack.client.adrop(service, code=code, busy=True, limit=1)
        except Exception as exc:  # noqa: BLE001 - a failed injection is reported, not fatal
            return FaultEvent(kind, call, turn, at, False, f"{kind}: control API {exc!r}")
        if n == 0:
            return FaultEvent(kind, call, turn, at, False,
                              f"{kind}: the double closed no {service} socket (dropped 0)")
        return FaultEvent(kind, call, turn, at, True, f"dropped {n} {service} code {code}")

    async def one_call(self, plan: CallPlan) -> None:
        """Place one call, measure it and keep only its figures (not its audio)."""
        caller = FaultingCaller(plan.index, self.inject, random.Random(self.rng.random()),
                                webhook_url=self.stack.webhook_url,
                                auth_token=self.stack.auth_token)
        started = time.monotonic()
        result, crash = None, None
        max_secs = 30 + len(plan.items) * (REPLY_WAIT_SECS + 10) + 20
        redials = 0
        while True:
            try:
                result = await caller.run(script(plan), max_duration=max_secs)
            except Exception as exc:  # noqa: BLE001 - a crashed caller is a dropped call
                crash = repr(exc)
            # Every line busy (the lane's previous call still winding down): a caller redials.
            if result is None or not result.rejected or redials >= MAX_REDIALS:
                break
            redials += 1
            await asyncio.sleep(REDIAL_SECS)
            caller = FaultingCaller(plan.index, self.inject, random.Random(self.rng.random()),
                                    webhook_url=self.stack.webhook_url,
                                    auth_token=self.stack.auth_token)
        await caller.finish()
        self.events += caller.events
        rows = [] if result is None else turn_rows(result, plan.index, plan.faults)
        self.rows += rows
        self.calls.append({
            "call": plan.index, "voice": plan.voice, "planned_turns": len(plan.items),
            "faults": plan.faults, "items": [i.id for i in plan.items],
            "started": round(started, 3), "secs": round(time.monotonic() - started, 1),
            "turns": None if result is None else len(result.turns),
            "hung_up_by_bot": None if result is None else result.hung_up_by_bot,
            "errors": [crash] if crash else (result.errors if result else []),
            "redials": redials,
            "dropped": drop_reason(result, len(plan.items), rows, crash),
        })

    async def lane(self, lane: int, bar: tqdm) -> None:
        """Place calls one after another until the deadline."""
        await asyncio.sleep(lane * min(0.5, 10.0 / max(self.cfg.calls, 1)))
        while time.monotonic() < self.deadline:
            plan = plan_call(next(self.numbers), self.rng, self.pools, self.cfg.turns,
                             self.cfg.fault_rate, self.cfg.faults)
            await self.one_call(plan)
            bar.update(1)
            bar.set_postfix({"dropped": sum(bool(c["dropped"]) for c in self.calls),
                             "silent": sum(r["silent"] for r in self.rows),
                             "faults": sum(e.injected for e in self.events)})

    async def watch_rss(self, pid: int, t0: float) -> None:
        """Launcher tree RSS every 10 s."""
        while True:
            self.rss_timeline.append((round(time.monotonic() - t0, 1),
                                      await asyncio.to_thread(rss_mb, pid)))
            await asyncio.sleep(10.0)

    async def metrics(self) -> str:
        """The launcher's ``/metrics`` text."""
        return (await asyncio.to_thread(self.stack.launcher.get, "/metrics")).text

    async def run(self) -> dict[str, Any]:
        """The whole soak; returns the measured part of the JSON."""
        assert self.stack.launcher.proc is not None
        pid = self.stack.launcher.proc.pid
        await asyncio.sleep(2.0)
        start_rss = rss_mb(pid)
        before = failover_counts(await self.metrics())
        requests_before = len(await self.stack.client.allm_requests())
        t0 = time.monotonic()
        self.deadline = t0 + self.cfg.minutes * 60
        watcher = asyncio.create_task(self.watch_rss(pid, t0))
        with tqdm(unit="call", desc=f"soak {self.cfg.calls} calls", dynamic_ncols=True) as bar:
            await asyncio.gather(*(self.lane(i, bar) for i in range(self.cfg.calls)))
        wall = time.monotonic() - t0
        idle = await wait_idle(self.stack, timeout=60.0)
        await asyncio.sleep(2.0)
        end_rss = rss_mb(pid)
        watcher.cancel()
        after = failover_counts(await self.metrics())
        requests = (await self.stack.client.allm_requests())[requests_before:]
        attribute(self.rows, self.events)
        peak = max([start_rss, end_rss, *(r for _, r in self.rss_timeline)])
        rss = {"start_mb": start_rss, "end_mb": end_rss, "peak_mb": peak,
               "timeline": self.rss_timeline, "idle_at_end": idle}
        failovers = {k: v - before.get(k, 0.0) for k, v in after.items()}
        events = [e.to_dict() for e in self.events]
        return {
            "wall_secs": round(wall, 1),
            "summary": summarize(self.rows, self.calls, events, rss, failovers),
            "llm_models": dict(Counter(str(r.get("model")) for r in requests)),
            "calls_detail": sorted(self.calls, key=lambda c: c["call"]),
            "turns_detail": self.rows,
            "fault_events": events,
            "doubles_stats": await self.stack.client.astats(),
        }


def run(cfg: SoakConfig, argv: list[str] | None = None) -> int:
    """Run the soak, print the table, write ``bench/results/soak-*.json``.

    Returns:
        0 if no turn was silent and no call dropped, 1 otherwise.
    """
    items = corpus(voices=cfg.voices, kinds=COMPLETE_KINDS)
    pools = pools_by_voice(items)
    if not pools:
        raise BenchSetupError("no voice has both ordinary utterances and a closing")
    env = dict(cfg.launcher_env)
    backup = None
    if cfg.backup and backup_available():
        backup = env.setdefault("LLM_BACKUP_PROVIDER", BACKUP_LLM)
    model = primary_model(env)
    state: dict[str, Any] = {}
    profile = {**TURNS_PROFILE, **cfg.profile}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with running_stack(profile, env, _prepare(items, model, state)) as stack:
        measured = asyncio.run(_Soak(stack, cfg, pools).run())
        log = {"path": str(stack.launcher.log_path), **launcher_log_summary(stack.launcher.log())}
        profile = stack.profile
    data = {
        "kind": "soak",
        "command": " ".join(argv if argv is not None else sys.argv),
        "timestamp": stamp,
        "calls": cfg.calls,
        "minutes": cfg.minutes,
        "seed": cfg.seed,
        "fault_rate": cfg.fault_rate,
        "fault_kinds": list(cfg.faults),
        "turns_per_call": list(cfg.turns),
        "voices": sorted(pools),
        "backup_llm": backup,
        "primary_model": model,
        "llm_fault_model": state.get("llm_fault_model"),
        "launcher_env": env,
        "profile": profile,
        **measured,
        "launcher_log": log,
    }
    path = write_json(cfg.out / f"soak-{stamp}.json", data)
    print(format_soak(data))
    print(f"wrote {path}")
    s = data["summary"]
    return 1 if s["silent_turns"] or s["dropped_calls"] else 0


def config_from_args(args: argparse.Namespace, env: dict[str, str],
                     profile: dict[str, Any]) -> SoakConfig:
    """A :class:`SoakConfig` from the parsed command line."""
    if args.calls < 1 or args.minutes <= 0 or not 0 <= args.fault_rate <= 1:
        raise ValueError("--calls >= 1, --minutes > 0 and 0 <= --fault-rate <= 1")
    lo, hi = args.turns
    if not 0 <= lo <= hi:
        raise ValueError("--turns MIN MAX with 0 <= MIN <= MAX")
    return SoakConfig(args.calls, args.minutes, args.seed, args.fault_rate, tuple(args.faults),
                      (lo, hi), args.voices, not args.no_backup, profile, env, args.out)
