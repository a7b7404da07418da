"""Command line: ``python -m bench calls ...``, ``sequential``, ``turns``, ``soak``, ``fleet``..."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from loguru import logger
from tqdm import tqdm

from bench import scenario
from bench.stack import BenchSetupError, parse_env_pairs, parse_profile

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="directory for the JSON and PNG (default bench/results/)")
    p.add_argument("--launcher-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra launcher environment, repeatable (compare process models, "
                        "log levels, ...)")
    p.add_argument("--profile", help="doubles latency profile overrides: JSON or a JSON file")
    p.add_argument("--vad-stop-secs", type=float, default=scenario.VAD_STOP_SECS,
                   help="turn-detection wait subtracted in the overhead (receptionist: 0.2)")
    p.add_argument("--log-level", default="WARNING",
                   help="bench/caller log level on stderr (default WARNING)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Latency and capacity benchmark: simulated Twilio callers against the "
        "real launcher, with the providers replaced by the local doubles.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    calls = sub.add_parser("calls", help="N concurrent calls of T turns each")
    calls.add_argument("--calls", type=int, required=True, help="concurrent callers (N)")
    calls.add_argument("--turns", type=int, default=3, help="caller turns per call (T)")
    calls.add_argument("--transport", default="twilio", choices=["twilio"])
    calls.add_argument("--pin", action="store_true",
                       help="launcher and call processes on core 0, doubles and callers on core "
                            "1; ramp 1, 5, 10, ... up to --calls until a gap > 60 ms or overhead "
                            "p95 > 100 ms, and report calls per product core")
    calls.add_argument("--ramp-secs", type=float, default=None,
                       help="spread the dialling over this many seconds (default N x 0.1)")
    _common(calls)
    seq = sub.add_parser("sequential", help="launcher RSS growth over sequential calls")
    seq.add_argument("--calls", type=int, default=100, help="calls, one after another")
    seq.add_argument("--turns", type=int, default=1, help="caller turns per call")
    _common(seq)
    rooms = sub.add_parser("rooms", help="room request -> bot joined (LiveKit), sequential")
    rooms.add_argument("--rooms", type=int, default=20, help="room requests, one after another")
    _common(rooms)
    turns = sub.add_parser("turns", help="turn-taking at the caller at 1, 10 and 20 calls")
    turns.add_argument("--levels", type=int, nargs="+", default=[1, 10, 20],
                       help="concurrent calls per level (default 1 10 20)")
    turns.add_argument("--counts", default=None,
                       help='measured turns per kind, JSON (default {"complete": 40, '
                            '"pause": 20 (per pause length), "backchannel": 24, "interrupt": 20})')
    turns.add_argument("--voices", nargs="+", default=None, help="only these corpus voices")
    turns.add_argument("--launcher-dir", type=Path, default=None,
                       help="run the launcher of another checkout (e.g. a baseline commit)")
    _common(turns)
    from bench.fleet import add_fleet_parser
    from bench.memory import add_memory_parser
    from bench.security import add_security_parser
    from bench.soak import add_soak_parser

    add_fleet_parser(sub)
    add_memory_parser(sub)
    add_security_parser(sub)
    add_soak_parser(sub)
    return parser


def _quiet_logs(level: str) -> None:
    """Route loguru through ``tqdm.write`` so log lines do not break the progress bar."""
    logger.remove()
    logger.add(lambda msg: tqdm.write(msg, end="", file=sys.stderr), level=level.upper())


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _quiet_logs(args.log_level)
    if args.command == "memory":  # no launcher, no doubles: the storage backend alone
        from bench.memory import run_memory

        return run_memory(args)
    if args.command == "security":
        from bench.security import SecurityConfig, run_security

        return run_security(
            SecurityConfig(args.offers, args.handshakes, args.in_call, args.schema_examples,
                           args.seed, args.out)
        )
    try:
        env = parse_env_pairs(args.launcher_env)
        profile = parse_profile(args.profile)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = ["python -m bench", *argv]
    try:
        if args.command == "calls":
            from bench.run_calls import CallsConfig, run

            if args.calls < 1 or args.turns < 0:
                print("error: --calls must be >= 1 and --turns >= 0", file=sys.stderr)
                return 2
            if args.pin:
                from bench.pinned import run_pinned

                return run_pinned(args.calls, args.turns, args.out, env, profile, command)
            cfg = CallsConfig(args.calls, args.turns, args.transport, args.ramp_secs, args.out,
                              env, profile, args.vad_stop_secs)
            return run(cfg, command)
        if args.command == "turns":
            import json

            from bench.turn_plan import DEFAULT_COUNTS
            from bench.turns import TurnsConfig
            from bench.turns import run as run_turns

            counts = {**DEFAULT_COUNTS, **json.loads(args.counts or "{}")}
            return run_turns(
                TurnsConfig(args.levels, counts, args.voices, profile, env, args.launcher_dir,
                            args.out),
                command,
            )
        if args.command == "soak":
            from bench.soak import config_from_args
            from bench.soak import run as run_soak

            try:
                soak = config_from_args(args, env, profile)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            return run_soak(soak, command)
        if args.command == "fleet":
            from bench.fleet import config_from_args as fleet_config
            from bench.fleet import run as run_fleet

            try:
                fleet = fleet_config(args, env, profile)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            return run_fleet(fleet, command)
        if args.command == "rooms":
            from bench.rooms import RoomsConfig
            from bench.rooms import run as run_rooms

            return run_rooms(RoomsConfig(args.rooms, args.out, env, profile), command)
        from bench.sequential import SequentialConfig
        from bench.sequential import run as run_sequential

        seq = SequentialConfig(args.calls, args.turns, args.out, env, profile, args.vad_stop_secs)
        return run_sequential(seq, command)
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
