"""Memory recall before the LLM: per-turn memories, never stored in the context, on a budget."""

import time

import pytest
from pipecat.frames.frames import LLMContextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from assembly.call import Slot
from launcher.metrics import LauncherMetrics
from memory.local import LocalMemory
from memory.recall import MEMORY_HEADER, MemoryRecall
from memory.supermemory import SupermemoryMemory
from plugins.memory_recall import MemoryPlugin
from tests.memory.supermemory_server import KEY, supermemory_double
from tests.plugins.calls import CALLER, built_call

RUN = "The caller wants to run five miles every day"
DOG = "The caller has a dog named Rex"


@pytest.fixture
async def local(storage):
    backend = LocalMemory(storage)
    await backend.add("default", CALLER, [RUN, DOG])
    return backend


def memory_notes(context: LLMContext) -> list[str]:
    return [
        m["content"]
        for m in context.get_messages()
        if m.get("role") == "system" and MEMORY_HEADER in m.get("content", "")
    ]


async def test_each_turn_gets_its_own_memories_and_the_context_keeps_none(local):
    misses = []
    recall = MemoryRecall(local, "default", CALLER, 0.5, limit=1, on_miss=misses.append)
    context = LLMContext(messages=[{"role": "user", "content": "I did run today"}])
    first = LLMContextFrame(context=context)
    down, _ = await run_test(recall, frames_to_send=[first])
    sent_1 = down[0].context
    context.add_message({"role": "assistant", "content": "Nice."})
    context.add_message({"role": "user", "content": "my dog was sick"})
    down2, _ = await run_test(recall, frames_to_send=[LLMContextFrame(context=context)])
    sent_2 = down2[0].context

    assert sent_1 is not context and sent_2 is not context
    assert memory_notes(sent_1) == [f"{MEMORY_HEADER}\n- {RUN}"]
    assert memory_notes(sent_2) == [f"{MEMORY_HEADER}\n- {DOG}"], "turn 2: its memories only"
    # The note sits right before what the caller just said; the conversation is unchanged.
    assert sent_2.get_messages()[-1] == {"role": "user", "content": "my dog was sick"}
    assert sent_2.get_messages()[:-2] == context.get_messages()[:-1]
    assert memory_notes(context) == [], "memories piled up in the aggregators' context"
    assert misses == []
    assert recall.recalled == [[RUN], [DOG]]


async def test_early_reply_gets_the_callers_memories_too(local):
    # An early reply (issue 10) that the turn confirms is the turn's only LLM request.
    recall = MemoryRecall(local, "default", CALLER, 0.5, limit=1)
    context = LLMContext(messages=[{"role": "user", "content": "my dog was sick"}])
    down, _ = await run_test(
        recall, frames_to_send=[LLMContextFrame(context=context, speculation=True)]
    )
    assert down[0].speculation, "still held by the LLM until the turn ends"
    assert memory_notes(down[0].context) == [f"{MEMORY_HEADER}\n- {DOG}"]


async def test_no_user_message_no_recall(local):
    recall = MemoryRecall(local, "default", CALLER, 0.5)
    context = LLMContext(messages=[{"role": "developer", "content": "Greet the caller."}])
    down, _ = await run_test(recall, frames_to_send=[LLMContextFrame(context=context)])
    assert down[0].context is context and recall.recalled == []


async def test_recall_over_budget_lets_the_turn_go_without_memories_and_counts_a_miss():
    metrics = LauncherMetrics()
    async with supermemory_double() as (base_url, state):
        backend = SupermemoryMemory(KEY, base_url)
        await backend.add("default", CALLER, [RUN])
        state.search_delay_ms = 1000
        recall = MemoryRecall(
            backend, "default", CALLER, 0.15,
            on_miss=lambda reason: metrics.memory_recall_misses.labels(reason=reason).inc(),
        )
        context = LLMContext(messages=[{"role": "user", "content": "I did run today"}])
        frame = LLMContextFrame(context=context)
        started = time.perf_counter()
        down, _ = await run_test(recall, frames_to_send=[frame])
        waited = time.perf_counter() - started
        await backend.close()
    assert down[0] is frame and memory_notes(down[0].context) == []
    assert waited < 0.15 + 0.5, f"the turn waited {waited:.3f}s for a slow recall"
    assert 'switchboard_memory_recall_misses_total{reason="timeout"} 1.0' in (
        metrics.render().decode()
    )


async def test_unreachable_backend_is_a_miss_not_a_failed_turn():
    misses = []
    backend = SupermemoryMemory(KEY, "http://127.0.0.1:9")  # nothing listens on port 9
    recall = MemoryRecall(backend, "default", CALLER, 0.5, on_miss=misses.append)
    context = LLMContext(messages=[{"role": "user", "content": "hello"}])
    down, _ = await run_test(recall, frames_to_send=[LLMContextFrame(context=context)])
    await backend.close()
    assert down[0].context is context and misses == ["error"]


async def test_only_personas_with_memory_and_a_known_caller_get_recall(local, settings):
    plugin = MemoryPlugin(settings, local)
    companion = await built_call([])
    receptionist = await built_call([], persona="receptionist")
    anonymous = await built_call([], caller=None)
    slots = plugin.processors(companion)
    assert [type(p) for p in slots[Slot.BEFORE_LLM]] == [MemoryRecall]
    assert plugin.processors(receptionist) == {}
    assert plugin.processors(anonymous) == {}
