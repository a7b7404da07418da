"""The suite's longest test files, longest first, so pytest-xdist hands them out first.

``--dist loadfile`` gives each worker whole files in collection order. When a two-minute file is
handed out last, one worker runs it alone at the end while the others sit idle; starting with
the longest files (longest-processing-time-first) leaves the short ones to fill in at the end.
Seconds are from ``.cache/test-parallel.xml`` (``make test``, 3 workers, 2026-12-07); an
approximate, stale order costs only balance, never a test.
"""

from __future__ import annotations

import pytest

SLOWEST_FIRST = (
    "tests/bots/test_e2e_browser.py",  # 309 s
    "tests/runner/test_process_models.py",  # 214 s
    "tests/bots/test_e2e_carriers.py",  # 170 s
    "tests/launcher/test_limits.py",  # 152 s
    "tests/bots/test_e2e_no_silent_turn.py",  # 148 s
    "tests/bots/test_e2e_failover.py",  # 126 s
    "tests/launcher/test_recording_e2e.py",  # 125 s
    "tests/bots/test_e2e_tts_drop.py",  # 123 s
    "tests/bots/test_e2e_barge_in.py",  # 120 s
    "tests/bots/test_e2e_end_of_turn.py",  # 104 s
    "tests/bots/test_e2e_screenshot.py",  # 92 s
    "tests/bots/test_e2e_tools.py",  # 87 s
    "tests/bots/test_e2e_quiet_caller.py",  # 80 s
    "tests/bots/test_e2e_client_tools.py",  # 75 s
    "tests/bots/test_e2e_twilio.py",  # 71 s
    "tests/fleet/test_fleet.py",  # 61 s
    "tests/bots/test_e2e_tts_failover.py",  # 61 s
    "tests/simulators/doubles/test_exact_split.py",  # 60 s
    "tests/fleet/test_call_survival.py",  # 59 s
    "tests/launcher/test_console.py",  # 54 s
)


def slowest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the listed files first, in list order; the rest as collected."""
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
