"""A call host's start-up heap stays out of the garbage collector's full passes."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Opens a call host's runner the way a worker does (models, providers, warm-up builds), then
# reports what a full collection would still have to walk.
_OPEN_A_CALL_HOST = """
import asyncio, gc, json
from config import Settings
from runner.inprocess import InProcessRunner

asyncio.run(InProcessRunner(Settings()).open())
print(json.dumps({"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects())}))
"""


def test_full_collections_skip_the_startup_heap_after_250ms_stalls(tmp_path):
    """Incident: with 20 calls on a worker, each full collection walked the ~200,000 objects
    of start-up (models, SDKs, warm-up builds) and held every call on it for 150-360 ms,
    heard as audio gaps and late greetings."""
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_A_CALL_HOST],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LOG_LEVEL": "WARNING"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    heap = json.loads(out.stdout.strip().splitlines()[-1])
    assert heap["frozen"] > 100_000, heap  # the models and SDKs are in there
    assert heap["walked"] < heap["frozen"] / 20, heap  # a full pass walks a small rest
