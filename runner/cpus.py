"""How many cores this process may really use: its CPU affinity and its cgroup's CPU quota.

``os.cpu_count()`` counts the machine's cores. A launcher pinned with ``taskset`` or a cpuset,
or a container with a CPU limit (Kubernetes ``resources.limits.cpu``: a cgroup ``cpu.max``
quota), can use fewer; one worker process per *machine* core would then crowd the cores it has.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"


def quota_cores(cpu_max: Path = CPU_MAX) -> int | None:
    """Whole cores the cgroup's CPU quota allows (rounded up), or None without a quota."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def usable_cpus(cpu_max: Path = CPU_MAX) -> int:
    """Cores this process may use: its affinity, capped by the cgroup's quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        cores = os.cpu_count() or 1
    quota = quota_cores(cpu_max)
    return min(cores, quota) if quota else cores
