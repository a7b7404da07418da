"""Call-host worker processes the launcher forwards calls to (see ``callhost``).

Each worker is a fully warmed Python process (imports, Silero, smart-turn, provider modules
loaded before it takes a call) serving a private Unix socket. The launcher talks to it over HTTP,
hands it Twilio media connections over a second socket (``runner.handover``) and follows its
calls on its event stream (``runner.worker_events``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from runner.handover import connect_inbox, send_connection
from runner.worker_events import WorkerEvents

SECRET_HEADER = "x-switchboard-worker"
SECRET_ENV = "SWITCHBOARD_WORKER_SECRET"
LAUNCHER_PID_ENV = "SWITCHBOARD_LAUNCHER_PID"  # a worker whose launcher is gone exits
# How the launcher stops a worker. Not SIGTERM / SIGINT: those reach the whole process group
# (systemd's control-group kill, Ctrl-C, a container runtime) and the launcher must orchestrate
# the drain, so workers ignore them (``callhost.__main__``).
STOP_SIGNAL = signal.SIGUSR2
REPO_ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """One call-host process and the launcher's view of it."""

    def __init__(
        self,
        index: int,
        env: dict[str, str],
        run_dir: Path,
        on_event: Callable[[WorkerProcess, str, dict[str, Any]], None] | None = None,
    ):
        self.index = index
        self.secret = secrets.token_urlsafe(24)
        self.uds = str(run_dir / f"worker-{index}-{os.getpid()}.sock")
        self.env = {**env, SECRET_ENV: self.secret}
        self.process: asyncio.subprocess.Process | None = None
        self.calls: set[str] = set()
        self.lost_calls = 0  # calls that ended with this worker's death
        self.started = 0  # calls handed to this worker so far
        self.arriving = 0  # picked for a call that is still being handed over (not in ``calls``)
        self.accepting = True
        self._on_event = on_event
        self.events = WorkerEvents(self._event)
        self._inbox: socket.socket | None = None
        self._following: asyncio.Task[None] | None = None
        self.http = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=self.uds),
            base_url="http://worker",
            headers={SECRET_HEADER: self.secret},
            timeout=httpx.Timeout(10.0),
        )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(self, kind, data)

    @property
    def pid(self) -> int | None:
        """The worker's process id once started."""
        return self.process.pid if self.process else None

    async def start(self, timeout: float = 90.0) -> None:
        """Spawn the process and wait until it answers (models loaded).

        A start that fails or is cancelled (the launcher shutting down meanwhile) kills the
        process: it must not outlive the launcher (incident: an orphaned call host).
        """
        started = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callhost", "--uds", self.uds,
            cwd=str(REPO_ROOT), env=self.env,
        )  # fmt: skip
        try:
            await self._wait_ready(started, timeout)
        except BaseException:
            if self.alive():
                self.process.kill()
            raise

    async def _wait_ready(self, started: float, timeout: float) -> None:
        assert self.process is not None
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"worker {self.index} exited ({self.process.returncode})")
            try:
                if (await self.http.get("/internal/health")).status_code == 200:
                    self._inbox = connect_inbox(self.uds)
                    self._following = asyncio.create_task(self.events.follow(self.http))
                    logger.info(
                        f"worker {self.index} (pid {self.pid}) ready in "
                        f"{time.perf_counter() - started:.1f}s"
                    )
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"worker {self.index} did not start within {timeout:.0f}s")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.returncode is None

    def hand_over(self, fd: int, call_id: str, head: bytes) -> None:
        """Give the worker a public connection (its descriptor and the bytes read from it).

        Raises:
            OSError: The worker cannot take it (gone, or its inbox is full).
        """
        if self._inbox is None:
            raise OSError(f"worker {self.index} has no inbox")
        send_connection(self._inbox, fd, call_id, head)

    async def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        """POST JSON to one of the worker's internal routes."""
        return await self.http.post(path, json=payload)

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the process to exit (``STOP_SIGNAL``), kill it after ``timeout``."""
        if self._inbox is not None:
            self._inbox.close()
        if self._following is not None:
            self._following.cancel()
        await self.http.aclose()
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(STOP_SIGNAL)
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        Path(self.uds).unlink(missing_ok=True)


def worker_env(overrides: dict[str, str]) -> dict[str, str]:
    """The launcher's environment for a worker (same settings, its own cap disabled)."""
    return {**os.environ, LAUNCHER_PID_ENV: str(os.getpid()), **overrides}


def run_dir() -> Path:
    """A private directory for the workers' sockets."""
    return Path(tempfile.mkdtemp(prefix="switchboard-workers-"))
