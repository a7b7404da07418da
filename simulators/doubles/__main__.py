"""Run the provider doubles: ``python -m simulators.doubles --port 8800``.

Prints one JSON line ``{"base_url": ..., "env": {...}}`` on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
from pathlib import Path

from aiohttp import web
from loguru import logger

from simulators.doubles.app import build_app
from simulators.doubles.config import LatencyProfile


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m simulators.doubles", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800, help="0 picks a free port")
    parser.add_argument(
        "--profile",
        default=None,
        help="latency profile overrides: a JSON object or a path to a JSON file",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def load_profile(spec: str | None) -> LatencyProfile:
    """Build the latency profile from a JSON string or file path."""
    profile = LatencyProfile()
    if spec:
        text = spec if spec.lstrip().startswith("{") else Path(spec).read_text()
        profile.update(json.loads(text))
    return profile


async def serve(args: argparse.Namespace) -> None:
    """Start the server, announce it, and run until SIGTERM/SIGINT."""
    app = build_app(load_profile(args.profile))
    await asyncio.get_running_loop().run_in_executor(None, app["recognizer"].warm_up)
    # Fixed latencies: the collector's full passes must not walk the start-up heap (the ASR
    # model, the SDK-shaped apps) and delay every double at once.
    gc.collect()
    gc.freeze()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ready = {
        "base_url": f"http://{args.host}:{port}",
        "env": app["state"].creds.env(port, args.host),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    logger.info(f"doubles listening on {ready['base_url']}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level=args.log_level.upper())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
