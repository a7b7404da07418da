"""Run the doubles in a subprocess, so their CPU stays off the bot's event loop."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from loguru import logger

from simulators.doubles.client import DoublesClient

REPO_ROOT = Path(__file__).resolve().parents[2]


class DoublesProcess:
    """Spawn ``python -m simulators.doubles --port 0`` and wait for its ready line.

    Usable as ``with DoublesProcess() as d:`` or ``async with DoublesProcess() as d:``.

    Args:
        profile: Latency profile overrides (see ``LatencyProfile``).
        port: Port to listen on; 0 picks a free one.
        startup_timeout: Seconds to wait for the ready line.
        log_level: Log level of the subprocess (its stderr is inherited).
    """

    def __init__(
        self,
        profile: dict[str, Any] | None = None,
        port: int = 0,
        startup_timeout: float = 30.0,
        log_level: str = "WARNING",
    ) -> None:
        self.profile = profile or {}
        self.port = port
        self.startup_timeout = startup_timeout
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self._env: dict[str, str] = {}
        self.client: DoublesClient | None = None

    def env(self) -> dict[str, str]:
        """Env vars pointing Switchboard at the doubles (URLs and fake keys)."""
        return dict(self._env)

    def start(self) -> DoublesProcess:
        """Start the subprocess and block until it is listening.

        Raises:
            RuntimeError: If it exits or stays silent past the startup timeout.
        """
        cmd = [sys.executable, "-m", "simulators.doubles", "--port", str(self.port)]
        cmd += ["--log-level", self.log_level]
        if self.profile:
            cmd += ["--profile", json.dumps(self.profile)]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, env=env)
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("doubles did not become ready")
            if sel.select(timeout=min(remaining, 0.5)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    continue
                line += chunk
        sel.close()
        ready = json.loads(line.split(b"\n", 1)[0])
        self.base_url = ready["base_url"]
        self._env = ready["env"]
        self.client = DoublesClient(self.base_url)
        logger.debug(f"doubles ready at {self.base_url} (pid {self.proc.pid})")
        return self

    def stop(self) -> None:
        """Terminate the subprocess by PID (SIGTERM, then SIGKILL after 5 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> DoublesProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> DoublesProcess:
        import asyncio

        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)
