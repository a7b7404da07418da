"""Every entry point runs smart-turn with one BLAS thread, however it is started.

Smart-turn inference costs about half the CPU with one OpenBLAS thread on two cores, and the
thread count is fixed when numpy loads. ``config/blas.py`` sets it before anything imports
numpy; this checks it from a clean environment (no ``OPENBLAS_NUM_THREADS``, as outside
``make``), by running each entry point's module-level code and asking OpenBLAS itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import ctypes, glob, os, runpy, sys
sys.path.insert(0, os.getcwd())
kind, _, target = sys.argv[1].partition(":")
if kind == "path":
    runpy.run_path(target, run_name="blas_probe")
elif kind == "module":
    runpy.run_module(target, run_name="blas_probe", alter_sys=True)
import numpy
libs = os.path.join(os.path.dirname(numpy.__file__), "..", "numpy.libs", "*openblas*")
lib = ctypes.CDLL(sorted(glob.glob(libs))[0])
print("threads", lib.scipy_openblas_get_num_threads64_(), file=sys.__stdout__)
"""


def blas_threads(entry: str) -> int:
    """OpenBLAS threads after ``entry``'s module-level code ran in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS",
                                                            "OMP_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, entry],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("threads "))
    return int(line.split()[1])


def test_bare_numpy_would_start_several_threads():
    """The control: without our entry points, numpy on this 2-core machine uses two."""
    assert blas_threads("numpy") > 1


@pytest.mark.parametrize("entry", ["path:server.py", "module:callhost", "module:bots"])
def test_entry_point_runs_with_one_blas_thread(entry):
    assert blas_threads(entry) == 1
