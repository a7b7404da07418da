"""``python -m callhost --uds PATH``: serve one call-host process (the launcher starts it).

The secret for the internal routes comes in ``SWITCHBOARD_WORKER_SECRET``.
"""

from __future__ import annotations

import config.blas  # noqa: F401  (first: one BLAS thread before numpy loads)

import argparse
import os
import signal
from types import FrameType

import uvicorn
from loguru import logger

from assembly.tracing import tracing_enabled
from callhost.app import create_worker_app
from config import get_settings
from config.logging import configure_logging
from runner.workers import LAUNCHER_PID_ENV, SECRET_ENV, STOP_SIGNAL


class CallHostServer(uvicorn.Server):
    """uvicorn for a call host: stops on the launcher's ``STOP_SIGNAL`` only.

    SIGTERM and SIGINT sent to the whole process group (systemd stopping the service, Ctrl-C, a
    container runtime) reach the workers too. The launcher got the same signal and drains:
    its workers keep their calls until it says goodbye on them and stops each worker.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Ignore the group's SIGTERM / SIGINT; stop on ``STOP_SIGNAL``."""
        if sig in (signal.SIGTERM, signal.SIGINT):
            logger.info(f"signal {sig}: left to the launcher, which drains this host's calls")
            return
        super().handle_exit(signal.SIGTERM, frame)


def _die_with_launcher() -> None:
    """Ask Linux to send ``STOP_SIGNAL`` to this worker when the launcher dies, however.

    The request only covers a launcher that dies after it: one already gone while this process
    was starting up means exiting now (incident: an orphaned call host).
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, STOP_SIGNAL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the launcher still stops its workers on a clean exit
        pass
    launcher = os.environ.get(LAUNCHER_PID_ENV)
    if launcher and os.getppid() != int(launcher):
        raise SystemExit(f"the launcher (pid {launcher}) is gone")


def main() -> None:
    """Serve the worker on the Unix socket the launcher chose."""
    _die_with_launcher()
    parser = argparse.ArgumentParser()
    parser.add_argument("--uds", required=True)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing_enabled(settings)  # this process runs the calls: its tracer provider, if any
    app = create_worker_app(settings, os.environ[SECRET_ENV], args.uds)
    config = uvicorn.Config(app, uds=args.uds, log_level="warning", ws_per_message_deflate=False)
    server = CallHostServer(config)
    signal.signal(STOP_SIGNAL, server.handle_exit)
    app.state.server = server
    server.run()


if __name__ == "__main__":
    main()
