"""A real ``redis-server`` in its own process (Debian's; ``scripts/bootstrap.sh test`` installs it).

Shared by the fleet tests (``tests/fleet/conftest.py``) and the fleet bench (``bench/fleet.py``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

from simulators.processes import stop_process
from tests.launcher.process import free_port


class RedisProcess:
    """A fresh, empty Redis on 127.0.0.1 (no persistence), stopped by PID after use.

    Usable as ``with RedisProcess() as redis: ... redis.url``.

    Args:
        startup_timeout: Seconds to wait for ``PING`` to answer.
    """

    def __init__(self, startup_timeout: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        """Start ``redis-server`` and wait until it answers ``PING``.

        Raises:
            RuntimeError: If the binary is missing or the server does not answer in time.
        """
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is missing: run scripts/bootstrap.sh test")
        self.port = free_port()
        self._workdir = tempfile.TemporaryDirectory(prefix="sb-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._workdir.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._pong():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server we started (SIGTERM, then SIGKILL) and remove its directory."""
        stop_process(self.proc)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
