"""Schemathesis over the launcher's OpenAPI, as its command line runs it (tests and bench)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

_ACCESS = re.compile(r'"[A-Z]+ [^"]*" (\d{3})')


def access_statuses(log: str) -> Counter[str]:
    """Status classes (``2xx``, ``4xx``, ``5xx``) of the uvicorn access-log lines in ``log``."""
    return Counter(f"{m.group(1)[0]}xx" for m in _ACCESS.finditer(log))


def schemathesis_runs(base: str, examples: int, seed: int, api_key: str) -> list[tuple[int, str]]:
    """Two seeded runs with the ``not_a_server_error`` check: without, then with the API key.

    Returns:
        Each run's exit code (0: no check failed) and the tail of its output.
    """
    runs = []
    for headers in ([], ["-H", f"X-API-Key: {api_key}"]):
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
            "--checks", "not_a_server_error", "--max-examples", str(examples),
            "--seed", str(seed), "--no-shrink", "--workers", "4", "--warnings", "off",
            "--request-timeout", "20", *headers,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        runs.append((done.returncode, (done.stdout + done.stderr)[-2000:]))
    return runs
