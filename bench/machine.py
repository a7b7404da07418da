"""The machine a run shared: cores, load, and which other processes used CPU meanwhile."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import psutil


def machine_info() -> dict[str, Any]:
    """Cores, memory, Python and the load average at this moment."""
    return {
        "cpus": psutil.cpu_count(),
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_times() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        cmd = " ".join(proc.info["cmdline"] or [proc.info["name"] or "?"])[:120]
        out[proc.pid] = (cmd, times.user + times.system)
    return out


class CpuLedger:
    """CPU seconds every process used between ``start()`` and ``stop()``.

    Shows whether something outside the benchmark (another test run on a shared machine) was
    competing for the cores.
    """

    def __init__(self) -> None:
        self._before: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self.wall_secs = 0.0
        self.used: dict[int, tuple[str, float]] = {}

    def start(self) -> CpuLedger:
        """Record every process's CPU time now."""
        self._before = _cpu_times()
        self._t0 = time.monotonic()
        return self

    def stop(self) -> CpuLedger:
        """Record again and keep the differences."""
        after = _cpu_times()
        self.wall_secs = time.monotonic() - self._t0
        self.used = {
            pid: (cmd, secs - self._before.get(pid, (cmd, 0.0))[1])
            for pid, (cmd, secs) in after.items()
        }
        return self

    def busiest(self, exclude: set[int], top: int = 5) -> list[dict[str, Any]]:
        """The processes (outside ``exclude``) that used the most CPU, as % of one core."""
        wall = max(self.wall_secs, 1e-9)
        rows = sorted(
            ((pid, cmd, secs) for pid, (cmd, secs) in self.used.items() if pid not in exclude),
            key=lambda row: -row[2],
        )[:top]
        return [
            {
                "pid": pid,
                "cmd": cmd,
                "cpu_secs": round(secs, 2),
                "cpu_pct": round(secs / wall * 100, 1),
            }
            for pid, cmd, secs in rows
            if secs > 0.05
        ]

    def percent(self, pids: set[int]) -> float:
        """Mean CPU% (100 = one core) used by ``pids`` together over the window."""
        secs = sum(self.used.get(pid, ("", 0.0))[1] for pid in pids)
        return round(secs / max(self.wall_secs, 1e-9) * 100, 1)
