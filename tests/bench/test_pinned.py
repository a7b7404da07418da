"""The pinned bench really confines a process tree, every thread of it, to the product's core."""

import os
import subprocess
import sys

import psutil

from bench.pinned import levels_up_to, pin
from tests.eventually import eventually

_THREADED = """
import subprocess, sys, threading, time
threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
time.sleep(30)
"""


def test_pin_moves_every_thread_of_a_process_and_its_children():
    proc = subprocess.Popen([sys.executable, "-c", _THREADED])
    try:
        root = psutil.Process(proc.pid)
        eventually(
            lambda: root.children() and root.num_threads() >= 2,
            timeout=5,
            what="the thread and the child to start",
            every=0.1,
        )
        pin(proc.pid, {0})
        threads = [t.id for p in (root, *root.children()) for t in p.threads()]
        assert len(threads) >= 3
        assert all(os.sched_getaffinity(tid) == {0} for tid in threads)
    finally:
        for child in psutil.Process(proc.pid).children():
            child.kill()
        proc.kill()
        proc.wait()


def test_the_ramp_starts_at_one_call_and_ends_at_the_asked_level():
    assert levels_up_to(12) == [1, 5, 10, 12]
    assert levels_up_to(20) == [1, 5, 10, 15, 20]
