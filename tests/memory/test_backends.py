"""Memory backends behind one interface: local SQLite FTS5 and Supermemory (over HTTP).

Mem0 has its own file, test_mem0.py.
"""

import pytest

from memory import memory_backend
from memory.local import LocalMemory
from memory.supermemory import SupermemoryMemory, container_tag
from storage.sqlite import SQLiteStorage
from tests.memory.supermemory_server import KEY, supermemory_double

FACTS = [
    "The caller wants to run five miles every day",
    "The caller has a dog named Rex",
    "The caller is learning to play the piano",
]


async def test_local_recall_ranks_the_matching_memory_first_and_keeps_callers_apart(storage):
    local = LocalMemory(storage)
    await local.add("default", "+15550001", FACTS, source_call_id=None)
    await local.add("default", "+15550002", ["The caller hates running"])
    await local.add("acme", "+15550001", ["Another tenant's note about running"])

    found = await local.recall("default", "+15550001", "did I run today", limit=2)
    assert found[0] == FACTS[0], found
    assert all("hates" not in f and "tenant" not in f for f in found), found
    # Nothing matches: the caller's most recent memories instead.
    recent = await local.recall("default", "+15550001", "xyzzy", limit=5)
    assert sorted(recent) == sorted(FACTS)
    assert await local.recall("default", "+15559999", "running", limit=5) == []


async def test_supermemory_adds_and_searches_in_the_callers_own_container():
    async with supermemory_double() as (base_url, state):
        backend = SupermemoryMemory(KEY, base_url)
        try:
            await backend.add("default", "+15550001", FACTS, source_call_id="call_1")
            await backend.add("default", "+15550002", ["The caller hates running"])
            found = await backend.recall("default", "+15550001", "did I run today", 2)
        finally:
            await backend.close()
    assert found[0] == FACTS[0], found
    assert "The caller hates running" not in found
    add = state.requests[0]
    assert add["path"] == "/v3/memories"
    assert add["body"]["containerTags"] == [container_tag("default", "+15550001")]
    assert add["body"]["metadata"]["call_id"] == "call_1"
    search = state.requests[-1]
    assert search["path"] == "/v3/search" and search["body"]["limit"] == 2


async def test_supermemory_wrong_key_is_an_error_not_an_empty_recall():
    async with supermemory_double() as (base_url, _state):
        backend = SupermemoryMemory("sm_wrong", base_url)
        try:
            with pytest.raises(RuntimeError, match="401"):
                await backend.recall("default", "+15550001", "running")
        finally:
            await backend.close()


def test_container_tags_are_safe_and_distinct():
    assert container_tag("default", "+1 (555) 000-1") == "default__1_555_000-1"
    assert len(container_tag("t", "x" * 500)) == 100


def test_backend_is_chosen_by_setting(settings, tmp_path):
    store = SQLiteStorage(tmp_path / "sb.db")
    assert isinstance(memory_backend(settings, store), LocalMemory)
    chosen = settings.model_copy(
        update={"memory_backend": "supermemory", "supermemory_api_key": None}
    )
    with pytest.raises(ValueError, match="SUPERMEMORY_API_KEY"):
        memory_backend(chosen, store)
