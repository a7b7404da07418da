"""``python -m bench fleet``: H hosts sharing one Redis, N calls, one host killed mid-call.

One real ``redis-server``, the provider doubles and H real launchers on their own ports
(``bench/fleet_stack.py``). N simulated Twilio callers dial through the hosts' voice
webhooks in turn (round robin) and stream to the host the TwiML names (``bench/fleet_calls.py``).
Each says one turn and holds the line; then the host with the most calls is killed (SIGKILL to
its process group: launcher and workers, as a machine dies) and the others' callers say their
second turn. The killed host's callers follow the fleet's Twilio REST redirect to a new host and
say their second turn there. Figures and the table: ``bench/fleet_report.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import scenario
from bench.fleet_calls import FleetCall, Kill, exchanges_for, host_of, run_call
from bench.fleet_report import context_kept, failed, format_fleet, per_host, redirect_secs
from bench.fleet_report import summarize as summarize_fleet
from bench.fleet_stack import DEFAULT_OUT, Fleet, FleetConfig, our_pids, running_fleet
from bench.machine import CpuLedger, machine_info
from bench.report import launcher_log_summary, write_json
from plugins.transcript_store import RESUME_LINE
from simulators.callers.listen import PhraseListener
from simulators.callers.twiml import fetch_twiml, random_sid, voice_webhook_form

STORED_BEFORE_KILL = 3  # greeting, the caller's first turn, its reply


def add_fleet_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``fleet`` subcommand."""
    p = sub.add_parser("fleet", help="H hosts and one Redis: admission spread, refusals, and "
                                     "calls surviving a host killed mid-call")
    p.add_argument("--hosts", type=int, default=3, help="hosts (launcher processes), default 3")
    p.add_argument("--calls", type=int, required=True, help="calls placed (N)")
    p.add_argument("--slots", type=int, default=None,
                   help="MAX_CONCURRENT_CALLS per host (default: ceil(N / (hosts - 1)), room "
                        "for every call after one host is lost); fewer than N / hosts shows "
                        "the refusals of a full fleet")
    p.add_argument("--kill-one", action=argparse.BooleanOptionalAction, default=True,
                   help="SIGKILL the host with the most calls mid-call (default on)")
    p.add_argument("--overflow", type=int, default=0,
                   help="after the calls, fire (free slots + this many) voice webhooks at once "
                        "and count admissions and polite refusals (default 0: skip)")
    p.add_argument("--ramp-secs", type=float, default=None,
                   help="spread the dialling over this many seconds (default N x 0.25)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the JSON")
    p.add_argument("--launcher-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment of every host, repeatable (default WORKERS=1)")
    p.add_argument("--profile", help="doubles latency profile overrides: JSON or a JSON file")
    p.add_argument("--log-level", default="WARNING", help="bench/caller log level on stderr")


def config_from_args(
    args: argparse.Namespace, env: dict[str, str], profile: dict[str, Any]
) -> FleetConfig:
    """The run's config from the parsed command line.

    Raises:
        ValueError: On sizes that cannot run.
    """
    if args.calls < 1 or args.hosts < 1 or (args.slots is not None and args.slots < 1):
        raise ValueError("--calls, --hosts and --slots must be >= 1")
    if args.kill_one and args.hosts < 2:
        raise ValueError("--kill-one needs at least 2 hosts (or use --no-kill-one)")
    return FleetConfig(args.hosts, args.calls, args.slots, args.kill_one, max(0, args.overflow),
                       args.ramp_secs, args.out, env, profile)


async def _until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return True
        await asyncio.sleep(0.2)
    return False


async def _fleet_state(http: httpx.AsyncClient, fleet: Fleet) -> dict[str, Any] | None:
    for host in fleet.live():
        try:
            return (await http.get(f"{host.launcher.base_url}/fleet")).json()
        except (httpx.HTTPError, ValueError):
            continue
    return None


async def _watch(fleet: Fleet, timeline: list[dict[str, Any]]) -> None:
    """Read ``GET /fleet`` every 0.5 s: each host's peak active calls, and the timeline."""
    t0 = time.monotonic()
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            state = await _fleet_state(http, fleet)
            if state is not None:
                row = {h["host_id"]: int(h["active"]) for h in state["hosts"]}
                timeline.append({"t": round(time.monotonic() - t0, 2), "active": row})
                for host in fleet.hosts:
                    if host.host_id in row:
                        host.peak_active = max(host.peak_active or 0, row[host.host_id])
            await asyncio.sleep(0.5)


async def _stored_turns(fleet: Fleet, calls: list[FleetCall], timeout: float = 10.0) -> dict:
    """Each call's stored turn texts, once it has the turns a kill should find (or timeout)."""
    storage = fleet.storage()
    await storage.open()
    try:
        out: dict[str, list[str]] = {}

        async def stored() -> bool:
            for c in calls:
                if c.call_id:
                    out[c.call_id] = [t.text for t in await storage.list_turns(c.call_id)]
            return all(len(texts) >= STORED_BEFORE_KILL for texts in out.values())

        await _until(stored, timeout)
        return out
    finally:
        await storage.close()


async def _check(fleet: Fleet, calls: list[FleetCall], kill: Kill | None,
                 before: dict[str, list[str]]) -> dict[str, list[str]]:
    """Fill each moved call's checks; return every call's hosts from its stored row."""
    storage = fleet.storage()
    await storage.open()
    try:
        rows: dict[str, list[str]] = {}
        for c in calls:
            row = await storage.get_call(c.call_id) if c.call_id and not c.refused else None
            if row is not None:
                rows[row.id] = list(row.metadata.get("hosts") or [row.metadata.get("host")])
        client = fleet.doubles.client
        assert client is not None
        twilio, llm = await asyncio.to_thread(client.twilio_requests), await client.allm_requests()
        for c in calls:
            if kill is None or c.moved is None or not c.call_id:
                continue
            turns = [t.text for t in await storage.list_turns(c.call_id)]
            earlier = before.get(c.call_id, [])
            c.checks.update(
                redirect_secs=redirect_secs(c, twilio, kill),
                apology_first=await asyncio.to_thread(_apology_first, c),
                context_kept=context_kept(c, llm, kill),
                row_hosts=rows.get(c.call_id),
                row_hosts_ok=rows.get(c.call_id) == [kill.host, c.moved_to],
                stored_before_kill=len(earlier),
                stored_after=len(turns),
                stored_turns_kept=bool(earlier) and turns[: len(earlier)] == earlier
                and len(turns) > len(earlier),
            )
        return rows
    finally:
        await storage.close()


def _apology_first(call: FleetCall) -> bool | None:
    """Whether the first thing heard on the new host was the apology (None: nothing heard)."""
    r = call.after_move
    if r is None or not r.bot_utterances:
        return None
    try:
        listener = PhraseListener([RESUME_LINE, "sorry about that", call.exchanges[1].reply])
    except ValueError:  # a word outside pocketsphinx's dictionary: cannot tell
        return None
    heard = listener.heard(r.bot_utterances[0].pcm, r.sample_rate)
    return heard.lower().startswith("sorry about that")


async def _overflow(fleet: Fleet, extra: int) -> dict[str, Any]:
    """Fire (free slots + ``extra``) voice webhooks at once over the live hosts; classify."""
    async with httpx.AsyncClient(timeout=5) as http:
        state = await _fleet_state(http, fleet)
    free = max(0, state["slots"] - state["calls"]) if state else 0
    live, token = fleet.live(), fleet.doubles.env()["TWILIO_AUTH_TOKEN"]
    ws = {h.host_id: h.launcher.ws_url for h in fleet.hosts}

    async def one(i: int) -> Any:
        form = voice_webhook_form(random_sid("CA"), random_sid("AC"), "+15005550006",
                                  "+15005550001")
        return await fetch_twiml(live[i % len(live)].webhook_url, form, token)

    answers = await asyncio.gather(*(one(i) for i in range(free + extra)))
    refused = [a for a in answers if a.rejected]
    return {
        "asked": len(answers),
        "free_slots": free,
        "admitted": len(answers) - len(refused),
        "admitted_by_host": {h.host_id: sum(1 for a in answers
                                            if host_of(a.stream_url, ws) == h.host_id)
                             for h in live},
        "refused": len(refused),
        "refused_politely": sum(1 for a in refused
                                if a.status_code == 200 and a.hangup and a.say_text),
        "refusal_texts": sorted({a.say_text for a in refused}),
        "note": "webhook only (admission happens there); the admitted are never connected",
    }


async def _measure(fleet: Fleet, cfg: FleetConfig) -> dict[str, Any]:
    env = fleet.doubles.env()
    ws = {h.host_id: h.launcher.ws_url for h in fleet.hosts}
    released: set[str] = set()
    kills: list[Kill] = []
    calls = [FleetCall(i, fleet.hosts[i % cfg.hosts].host_id, exchanges_for(i))
             for i in range(cfg.calls)]
    timeline: list[dict[str, Any]] = []
    watcher = asyncio.create_task(_watch(fleet, timeline))
    started = time.monotonic()
    tasks = [
        asyncio.create_task(run_call(
            c, fleet.host(c.webhook_host).webhook_url, env["TWILIO_AUTH_TOKEN"], ws,
            released.__contains__, lambda: kills[0] if kills else None, env,
            c.index * cfg.ramp / cfg.calls,
        ))
        for c in calls
    ]  # fmt: skip
    wait = cfg.ramp + scenario.GREETING_TIMEOUT_SECS + scenario.REPLY_TIMEOUT_SECS + 30
    all_held = await _until(lambda: all(c.stage != "dialling" for c in calls), wait)
    held_at = round(time.monotonic() - started, 2)
    before: dict[str, list[str]] = {}
    held = [c for c in calls if c.stage == "held"]
    if cfg.kill_one and held:
        target = max(fleet.hosts, key=lambda h: sum(c.host == h.host_id for c in held))
        before = await _stored_turns(fleet, [c for c in held if c.host == target.host_id])
        kills.append(fleet.kill(target))
    released.update(h.host_id for h in fleet.live())
    await asyncio.gather(*tasks)
    wall = round(time.monotonic() - started, 2)
    idle = await _until(_idle(fleet), 30)
    watcher.cancel()
    kill = kills[0] if kills else None
    rows = await _check(fleet, calls, kill, before)
    overflow = await _overflow(fleet, cfg.overflow) if cfg.overflow else None
    hosts = per_host(
        {h.host_id: {"slots": h.slots, "killed": h.killed, "peak_active": h.peak_active}
         for h in fleet.hosts},
        calls, rows,
    )  # fmt: skip
    return {
        "wall_secs": wall,
        "every_call_held_after_turn_one": all_held,
        "held_at_secs": held_at,
        "kill": None if kill is None else {"host": kill.host, "at_secs": round(
            kill.at - started, 2)},
        "fleet_idle_after_calls": idle,
        "hosts": hosts,
        "summary": summarize_fleet(calls, hosts, kill),
        "overflow": overflow,
        "calls_detail": [c.to_dict() for c in calls],
        "fleet_timeline": timeline,
    }


def _idle(fleet: Fleet) -> Any:
    async def check() -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            state = await _fleet_state(http, fleet)
        return state is not None and state["calls"] == 0

    return check


def run(cfg: FleetConfig, argv: list[str] | None = None) -> int:
    """Run the fleet bench, print the tables and write the JSON.

    Args:
        cfg: What to run.
        argv: The command line, recorded in the JSON.

    Returns:
        The exit code: 0 if every admitted call went on (moved ones included), 1 otherwise.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    machine = machine_info()
    with running_fleet(cfg) as fleet:
        ours = our_pids(fleet)
        ledger = CpuLedger().start()
        measured = asyncio.run(_measure(fleet, cfg))
        ledger.stop()
        logs = {h.host_id: {"path": str(h.launcher.log_path),
                            **launcher_log_summary(h.launcher.log())} for h in fleet.hosts}
    data: dict[str, Any] = {
        "kind": "fleet",
        "command": " ".join(argv if argv is not None else sys.argv),
        "timestamp": stamp,
        "config": {"hosts": cfg.hosts, "calls": cfg.calls, "slots": cfg.host_slots,
                   "kill_one": cfg.kill_one, "overflow": cfg.overflow, "ramp_secs": cfg.ramp,
                   "launcher_env": cfg.launcher_env, "profile": cfg.profile},
        "machine": machine,
        "other_processes": ledger.busiest(exclude=ours),
        **measured,
        "launcher_logs": logs,
    }
    data["failures"] = failed(data["summary"])
    path = write_json(cfg.out / f"fleet-H{cfg.hosts}-N{cfg.calls}-{stamp}.json", data)
    print(format_fleet(data))
    for why in data["failures"]:
        print(f"FAILED: {why}")
    print(f"wrote {path}")
    return 1 if data["failures"] else 0
