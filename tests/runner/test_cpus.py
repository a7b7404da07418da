"""One worker process per core the launcher may use, not per core the machine has."""

import os

import psutil

from runner.cpus import quota_cores, usable_cpus


def test_cgroup_quota_gives_whole_cores(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    for text, cores in (("max 100000", None), ("150000 100000", 2), ("50000 100000", 1)):
        cpu_max.write_text(text + "\n")
        assert quota_cores(cpu_max) == cores, text
    assert quota_cores(tmp_path / "missing") is None
    cpu_max.write_text("50000 100000\n")
    assert usable_cpus(cpu_max) == 1  # a half-core container limit: one worker


def test_a_launcher_pinned_to_one_core_starts_one_worker(launcher_factory):
    """Incident: pinned to one core (taskset), the launcher still started a worker per machine
    core, and the workers crowded that core (the pinned bench measured two workers on one)."""
    assert len(os.sched_getaffinity(0)) >= 2, "this machine has two cores"
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})  # the launcher inherits one core
    try:
        launcher = launcher_factory(PROCESS_MODEL="workers")
    finally:
        os.sched_setaffinity(0, before)
    workers = [
        p
        for p in psutil.Process(launcher.proc.pid).children(recursive=True)
        if "callhost" in " ".join(p.cmdline())
    ]
    assert len(workers) == 1, [p.cmdline() for p in workers]
