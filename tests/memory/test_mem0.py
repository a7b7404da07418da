"""The Mem0 backend: Pipecat's Mem0MemoryService and mem0's real client, against the Mem0 double."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from memory import memory_backend
from memory.mem0 import Mem0Memory
from storage.sqlite import SQLiteStorage
from tests.memory.mem0_server import KEY, mem0_double

ROOT = Path(__file__).resolve().parents[2]
FACTS = [
    "The caller wants to run five miles every day",
    "The caller has a dog named Rex",
    "The caller is learning to play the piano",
]


def _paths(state) -> list[str]:
    return [r["path"] for r in state.requests]


async def test_mem0_recall_returns_the_callers_own_memories_best_first():
    async with mem0_double() as (base_url, state):
        backend = Mem0Memory(KEY, base_url)
        try:
            await backend.add("default", "+15550001", FACTS, source_call_id="call_1")
            await backend.add("default", "+15550002", ["The caller hates running every day"])
            await backend.add("acme", "+15550001", ["Another tenant says run every day"])
            found = await backend.recall("default", "+15550001", "did I run every day", 2)
            other = await backend.recall("default", "+15550002", "running every day", 5)
            stranger = await backend.recall("default", "+15559999", "run every day", 5)
        finally:
            await backend.close()
    assert found == [FACTS[0]], found  # the only one sharing words; nobody else's
    assert other == ["The caller hates running every day"]
    assert stranger == []
    add = state.requests[1]
    assert add["path"] == "/v3/memories/add/"
    assert add["body"]["user_id"] == "default:+15550001"
    assert add["body"]["messages"] == [{"role": "user", "content": t} for t in FACTS]
    search = next(r["body"] for r in state.requests if r["path"] == "/v3/memories/search/")
    assert search["filters"] == {"OR": [{"user_id": "default:+15550001"}]}
    assert search["top_k"] == 2 and "user_id" not in search
    # One key check per caller (four callers), not one per request.
    assert _paths(state).count("/v1/ping/") == 4


async def test_mem0_wrong_key_is_a_clear_error_not_an_empty_recall():
    async with mem0_double() as (base_url, state):
        backend = Mem0Memory("m0-wrong", base_url)
        try:
            with pytest.raises(ValueError, match="refused MEM0_API_KEY.*Invalid API key"):
                await backend.recall("default", "+15550001", "running")
            with pytest.raises(ValueError, match="refused MEM0_API_KEY"):
                await backend.add("default", "+15550001", ["The caller likes tea"])
        finally:
            await backend.close()
    assert state.memories == []
    assert _paths(state) == ["/v1/ping/", "/v1/ping/"]  # a failed check is not remembered


async def test_mem0_slow_key_check_past_the_recall_budget_is_ready_for_the_next_turn():
    # The recall processor gives up on its budget (asyncio.wait_for); the client built in a
    # thread must still be kept, or every turn would check the key again and miss again.
    async with mem0_double() as (base_url, state):
        backend = Mem0Memory(KEY, base_url)
        try:
            await backend.add("default", "+15550001", FACTS)
            state.ping_delay_ms = 300
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(backend.recall("default", "+15550003", "piano"), 0.05)
            await asyncio.sleep(0.5)
            found = await asyncio.wait_for(
                backend.recall("default", "+15550001", "play the piano"), 1.0
            )
            again = await asyncio.wait_for(backend.recall("default", "+15550003", "piano"), 0.2)
        finally:
            await backend.close()
    assert found[0] == FACTS[2], found
    assert again == []
    assert _paths(state).count("/v1/ping/") == 2  # one per caller, the slow one included


async def test_mem0_keeps_telemetry_off():
    async with mem0_double() as (base_url, _state):
        backend = Mem0Memory(KEY, base_url)
        await backend.close()
    from mem0.memory.telemetry import client_telemetry

    assert os.environ["MEM0_TELEMETRY"] == "False"
    assert client_telemetry.posthog is None  # nothing is sent to PostHog


async def test_mem0_is_chosen_by_setting_and_pointed_at_mem0_base_url(settings, tmp_path):
    store = SQLiteStorage(tmp_path / "sb.db")
    async with mem0_double() as (base_url, state):
        chosen = settings.model_copy(
            update={
                "memory_backend": "mem0",
                "mem0_api_key": SecretStr(KEY),
                "mem0_base_url": base_url,
            }
        )
        backend = memory_backend(chosen, store)
        try:
            assert isinstance(backend, Mem0Memory)
            await backend.add("default", "+15550001", ["The caller has a dog named Rex"])
        finally:
            await backend.close()
    assert [m["memory"] for m in state.memories] == ["The caller has a dog named Rex"]
    assert settings.mem0_base_url == "https://api.mem0.ai"
    without_key = settings.model_copy(update={"memory_backend": "mem0", "mem0_api_key": None})
    with pytest.raises(ValueError, match="MEM0_API_KEY"):
        memory_backend(without_key, store)


def test_mem0_without_the_extra_installed_says_how_to_install_it():
    # A deployment synced without `--extra mem0`: mem0 cannot be imported.
    code = (
        "import sys; sys.modules['mem0'] = None\n"
        "from memory.mem0 import Mem0Memory\n"
        "try:\n"
        "    Mem0Memory('m0-key', 'http://127.0.0.1:9')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "uv sync --extra mem0" in done.stdout, done.stdout
