"""An ephemeral PostgreSQL 15 cluster for the test session: initdb into a temp dir, 127.0.0.1.

The server runs as the ``postgres`` user (initdb refuses root), listens only on 127.0.0.1 on a
free port, with fsync off (the data dies with the session), and is stopped by its own pg_ctl
and PID at the end. A missing PostgreSQL install is a failure, not a skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.launcher.process import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool as the ``postgres`` user when we are root."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


class PgCluster:
    """One throwaway cluster; ``url`` is a libpq URL for the ``postgres`` database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root: Path | None = None
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.pid: int | None = None

    def start(self) -> PgCluster:
        """initdb and start; raises with PostgreSQL's own output on failure."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL binaries not found in {PG_BIN} (apt install postgresql)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="sb-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        data = self.root / "data"
        init = _as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
            + ["-E", "UTF8", "--no-locale", "-N"]
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c TimeZone=UTC"
        )
        started = _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w"]
            + ["-o", options, "start"]
        )
        if started.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}{started.stderr}\n{log}")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    def stop(self) -> None:
        """Stop the server we started (fast shutdown, then SIGKILL by PID) and remove its files."""
        if self.root is None:
            return
        data = self.root / "data"
        if self.pid is not None:
            stopped = _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
            )
            if stopped.returncode != 0:
                try:
                    os.kill(self.pid, 9)
                except ProcessLookupError:
                    pass
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
