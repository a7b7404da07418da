"""Start the PostgREST double (``python -m simulators.doubles.postgrest``) and stop it by PID."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from simulators.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]


class PostgrestProcess:
    """The PostgREST + Storage double over ``dsn``, in its own process.

    Args:
        dsn: The PostgreSQL database it serves (migrations already applied).
        key: The service key clients must send.
        storage_dir: Where Storage objects are kept.
        buckets: Storage buckets that exist.
    """

    def __init__(self, dsn: str, key: str, storage_dir: Path, buckets: list[str]) -> None:
        self.dsn, self.key, self.storage_dir, self.buckets = dsn, key, storage_dir, buckets
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> PostgrestProcess:
        """Start and wait for the ``READY <url>`` line."""
        cmd = [sys.executable, "-m", "simulators.doubles.postgrest", "--dsn", self.dsn]
        cmd += ["--key", self.key, "--storage-dir", str(self.storage_dir)]
        for bucket in self.buckets:
            cmd += ["--bucket", bucket]
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline, line = time.monotonic() + timeout, b""
        while not line.endswith(b"\n"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the PostgREST double did not start")
            if selector.select(timeout=0.5):
                line += os.read(self.proc.stdout.fileno(), 4096)
        self.url = line.decode().split()[1]
        return self

    def env(self) -> dict[str, str]:
        """Settings that point Switchboard's Supabase backend here."""
        return {
            "STORAGE_BACKEND": "supabase",
            "SUPABASE_URL": self.url,
            "SUPABASE_SERVICE_KEY": self.key,
            "SUPABASE_RECORDINGS_BUCKET": self.buckets[0] if self.buckets else "recordings",
        }

    def stop(self) -> None:
        """Stop the process we started."""
        stop_process(self.proc)

    def __enter__(self) -> PostgrestProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
