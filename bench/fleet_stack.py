"""The fleet bench's processes: one Redis, the doubles, and H hosts sharing a data directory.

Each host is a real launcher (``server.py``) on its own port, with its own ``HOST_ID`` and
``PUBLIC_URL`` and ``MAX_CONCURRENT_CALLS``; all share ``REDIS_URL``, ``DATA_DIR`` (one database,
as a fleet shares Supabase) and ``MEDIA_TOKEN_SECRET``. Killing a host is SIGKILL to its process
group (launcher and workers at once, as when a machine dies).
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.fleet_calls import Kill
from bench.stack import BenchSetupError, prepare_doubles
from config import Settings
from simulators.doubles.process import DoublesProcess
from storage.sqlite import SQLiteStorage
from tests.fleet.redis_process import RedisProcess
from tests.launcher.process import LauncherProcess

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


@dataclass
class FleetConfig:
    """Options of a ``fleet`` run (``python -m bench fleet --help``)."""

    hosts: int = 3
    calls: int = 12
    slots: int | None = None
    kill_one: bool = True
    overflow: int = 0
    ramp_secs: float | None = None
    out: Path = DEFAULT_OUT
    launcher_env: dict[str, str] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def host_slots(self) -> int:
        """Slots per host: ``--slots``, or enough for the calls on one host fewer (the kill)."""
        if self.slots:
            return self.slots
        spare = self.hosts - 1 if self.kill_one and self.hosts > 1 else self.hosts
        return max(1, math.ceil(self.calls / spare))

    @property
    def ramp(self) -> float:
        """Seconds over which the callers dial (default 0.25 s per call)."""
        return self.ramp_secs if self.ramp_secs is not None else round(self.calls * 0.25, 2)


@dataclass
class Host:
    """One host of the fleet: a launcher process and its name."""

    host_id: str
    launcher: LauncherProcess
    slots: int
    killed: bool = False
    peak_active: int | None = None

    @property
    def webhook_url(self) -> str:
        """Its Twilio voice webhook."""
        return f"{self.launcher.base_url}/twilio/voice"


@dataclass
class Fleet:
    """The running hosts, the doubles and the shared data directory."""

    hosts: list[Host]
    doubles: DoublesProcess
    data_dir: str
    redis_pid: int

    def host(self, host_id: str) -> Host:
        """The host named ``host_id``."""
        return next(h for h in self.hosts if h.host_id == host_id)

    def live(self) -> list[Host]:
        """The hosts not killed."""
        return [h for h in self.hosts if not h.killed]

    def kill(self, host: Host) -> Kill:
        """SIGKILL the host's whole process group (its launcher and workers) at once."""
        assert host.launcher.proc is not None
        os.killpg(host.launcher.proc.pid, signal.SIGKILL)  # its own session: start_new_session
        kill = Kill(host.host_id, time.monotonic(), time.time())
        host.launcher.proc.wait(timeout=10)
        host.killed = True
        return kill

    def storage(self) -> SQLiteStorage:
        """The fleet's shared database."""
        return SQLiteStorage(os.path.join(self.data_dir, "switchboard.db"))


@contextmanager
def running_fleet(cfg: FleetConfig) -> Iterator[Fleet]:
    """Redis, the doubles and the hosts for the ``with`` block; all stopped by PID after."""
    try:
        redis = RedisProcess().start()
    except RuntimeError as exc:
        raise BenchSetupError(str(exc)) from exc
    try:
        with DoublesProcess(profile=cfg.profile) as doubles, tempfile.TemporaryDirectory(
            prefix="sb-fleet-data-"
        ) as data:
            assert doubles.client is not None
            prepare_doubles(doubles.client)
            base = {
                **doubles.env(),
                "PROCESS_MODEL": str(Settings.model_fields["process_model"].default),
                "WORKERS": "1",  # H hosts share this machine's cores
                **cfg.launcher_env,
                "REDIS_URL": redis.url,
                "MEDIA_TOKEN_SECRET": secrets.token_hex(24),
                "DATA_DIR": data,
                "MAX_CONCURRENT_CALLS": str(cfg.host_slots),
            }
            hosts = [
                Host(f"h{i + 1}", LauncherProcess({**base, "HOST_ID": f"h{i + 1}"}), cfg.host_slots)
                for i in range(cfg.hosts)
            ]
            try:
                with ThreadPoolExecutor(len(hosts)) as pool:
                    list(pool.map(lambda h: h.launcher.start(), hosts))
                _wait_for_fleet(hosts)
                assert redis.proc is not None
                yield Fleet(hosts, doubles, data, redis.proc.pid)
            except RuntimeError as exc:
                raise BenchSetupError(str(exc)[-3000:]) from exc
            finally:
                for h in hosts:
                    h.launcher.stop()
    finally:
        redis.stop()


def _wait_for_fleet(hosts: list[Host], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(hosts[0].launcher.get("/fleet").json()["hosts"]) == len(hosts):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the fleet never listed all {len(hosts)} hosts")


def our_pids(fleet: Fleet) -> set[int]:
    """This process, the doubles, Redis, and every host with its workers."""
    roots = [os.getpid(), fleet.redis_pid]
    roots += [p.pid for p in (fleet.doubles.proc, *(h.launcher.proc for h in fleet.hosts)) if p]
    pids = set(roots)
    for pid in roots[1:]:
        with contextlib.suppress(psutil.NoSuchProcess):
            pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
    return pids
