"""Run the real launcher (``python server.py``) as a subprocess pointed at the doubles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from simulators.processes import stop_process
from tests.eventually import aeventually

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LauncherProcess:
    """The launcher in its own process, as production runs it.

    Args:
        env: Extra environment (the doubles' URLs and keys, settings under test).
        startup_timeout: Seconds to wait for ``/healthz``.
        cwd: Run the launcher of this checkout (default: this repository).
        command: The arguments to ``python`` that start it (default ``server.py``).
    """

    def __init__(
        self,
        env: dict[str, str],
        startup_timeout: float = 60.0,
        cwd: Path | None = None,
        command: tuple[str, ...] = ("server.py",),
    ) -> None:
        self.port = free_port()
        self.command = command  # what python runs (e.g. ``-m bots coach --transport twilio``)
        self.cwd = cwd or REPO_ROOT  # another checkout's launcher (bench baselines)
        # Each launcher gets its own data directory (SQLite file, recordings) unless told one.
        self._data_dir = (
            None if "DATA_DIR" in env else tempfile.TemporaryDirectory(prefix="sb-data-")
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": self.base_url,
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            **({"DATA_DIR": self._data_dir.name} if self._data_dir else {}),
            # The suite runs calls in the launcher process (each launcher starts in ~2 s instead
            # of ~8 s with warm workers); tests/runner/test_process_models.py covers workers.
            "PROCESS_MODEL": "inprocess",
            **env,
        }
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"launcher-{self.port}.log"

    def start(self) -> LauncherProcess:
        """Start and wait until it answers ``/healthz``."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *self.command],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, as under systemd or a container
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"launcher exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"launcher did not start:\n{self.log()}")

    def log(self) -> str:
        """What the launcher printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a launcher path."""
        return httpx.get(f"{self.base_url}{path}", timeout=10, **kwargs)

    async def last_call_over(self, timeout: float = 10.0) -> dict[str, Any]:
        """The most recent call in ``GET /calls`` once it has ended.

        Raises:
            AssertionError: It is still active after ``timeout`` seconds.
        """

        def over() -> dict[str, Any] | None:
            calls = self.get("/calls").json()
            return calls[0] if calls and not calls[0]["active"] else None

        return await aeventually(over, timeout, "the last call to end")

    def stop(self) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL)."""
        stop_process(self.proc, timeout=15)

    def cleanup(self) -> None:
        """Remove the temporary data directory we created (after :meth:`stop`)."""
        if self._data_dir is not None:
            self._data_dir.cleanup()
            self._data_dir = None

    def __enter__(self) -> LauncherProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.cleanup()
