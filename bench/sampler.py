"""Sample CPU% and RSS of process trees (launcher, doubles, the bench itself) on a thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil


@dataclass
class TreeSample:
    """One sample of one process tree.

    Attributes:
        cpu: CPU% summed over the tree since the previous sample (100 = one core).
        rss_mb: Resident set size summed over the tree, in MB.
        procs: Processes in the tree.
    """

    cpu: float
    rss_mb: float
    procs: int


@dataclass
class Sample:
    """Every watched tree at one moment.

    Attributes:
        t: Seconds since the sampler started.
        trees: Tree name → its sample.
        system_cpu: Whole-machine CPU% (100 = every core busy).
    """

    t: float
    trees: dict[str, TreeSample]
    system_cpu: float


class _Tree:
    """A process and its descendants, remembering ``psutil.Process`` objects for CPU deltas."""

    def __init__(self, pid: int, children: bool = True) -> None:
        self.root = psutil.Process(pid)
        self.children = children
        self._known: dict[int, psutil.Process] = {}

    def sample(self) -> TreeSample | None:
        try:
            procs = [self.root]
            if self.children:
                procs += self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return None
        cpu = rss = 0.0
        alive = 0
        for proc in procs:
            known = self._known.setdefault(proc.pid, proc)
            try:
                with known.oneshot():
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
                alive += 1
            except psutil.NoSuchProcess:
                self._known.pop(proc.pid, None)
        return TreeSample(round(cpu, 1), round(rss / 2**20, 1), alive)


@dataclass
class ProcessSampler:
    """Samples named process trees every ``interval`` seconds on a daemon thread.

    Use as a context manager around the measured work. ``samples`` holds the timeline.

    Args:
        pids: Tree name → root PID (e.g. ``{"launcher": 123, "doubles": 456, "bench": 789}``).
        interval: Seconds between samples.
        alone: Names sampled without their children (the bench process is the parent of the
            doubles and the launcher, which are sampled on their own).
    """

    pids: dict[str, int]
    interval: float = 0.5
    alone: frozenset[str] = frozenset({"bench"})
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._trees = {
            name: _Tree(pid, children=name not in self.alone) for name, pid in self.pids.items()
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._t0 = time.monotonic()

    def snapshot(self) -> Sample:
        """Take one sample now (also used for start/end readings)."""
        trees = {name: s for name, tree in self._trees.items() if (s := tree.sample())}
        sample = Sample(
            round(time.monotonic() - self._t0, 3), trees, psutil.cpu_percent(None)
        )
        return sample

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.snapshot())

    def __enter__(self) -> ProcessSampler:
        self._t0 = time.monotonic()
        self.snapshot()  # primes the CPU counters; the first reading of cpu_percent is 0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def latest(self, name: str) -> TreeSample | None:
        """The most recent sample of one tree, if any."""
        for sample in reversed(self.samples):
            if name in sample.trees:
                return sample.trees[name]
        return None

    def series(self, name: str, key: str) -> list[float]:
        """One tree's ``cpu`` or ``rss_mb`` over time."""
        return [getattr(s.trees[name], key) for s in self.samples if name in s.trees]

    def to_dict(self) -> list[dict[str, Any]]:
        """The timeline as JSON-ready rows."""
        return [
            {"t": s.t, "system_cpu": s.system_cpu}
            | {name: vars(tree) for name, tree in s.trees.items()}
            for s in self.samples
        ]


def rss_mb(pid: int) -> float:
    """RSS of a process tree right now, in MB."""
    sample = _Tree(pid).sample()
    return sample.rss_mb if sample else 0.0
