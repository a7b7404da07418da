"""The per-call cost estimate from Pipecat usage metrics and the price table."""

import asyncio

import pytest
from pipecat.frames.frames import ClientConnectedFrame, MetricsFrame
from pipecat.metrics.metrics import (
    LLMTokenUsage,
    LLMUsageMetricsData,
    STTUsage,
    STTUsageMetricsData,
    TTSUsageMetricsData,
)
from pipecat.tests.utils import SleepFrame, run_test

from plugins.cost import RESOURCE_KEY, CostPlugin, Prices, estimate
from storage import CallRecord
from tests.plugins.calls import built_call
from tests.plugins.emit import Emit, Emitter

PRICES = Prices(
    stt_per_min=0.01,
    llm_input_per_mtok=1.0,
    llm_output_per_mtok=4.0,
    tts_per_kchar=0.05,
    call_per_min=0.02,
)


def usage_frames() -> list:
    llm = LLMTokenUsage(prompt_tokens=1200, completion_tokens=80, total_tokens=1280)
    return [
        Emit(make=lambda _n: ClientConnectedFrame()),
        Emit(make=lambda n: MetricsFrame(data=[STTUsageMetricsData(
            processor=n, value=STTUsage(audio_seconds=3.5))])),
        Emit(make=lambda n: MetricsFrame(data=[LLMUsageMetricsData(processor=n, value=llm)])),
        Emit(make=lambda n: MetricsFrame(data=[LLMUsageMetricsData(processor=n, value=llm)])),
        Emit(make=lambda n: MetricsFrame(data=[TTSUsageMetricsData(processor=n, value=250)])),
        SleepFrame(0.3),
    ]


async def test_usage_times_prices_is_stored_with_the_call(storage):
    plugin = CostPlugin(PRICES, storage)
    call = await built_call([plugin])
    await storage.create_call(
        CallRecord(id=call.ctx.call_id, persona="companion", transport="twilio")
    )
    observers = plugin.observers(call)
    await run_test(Emitter(), frames_to_send=usage_frames(), observers=observers)
    live = plugin.details(call)["cost"]
    await asyncio.sleep(0.2)
    await plugin.detach(call)
    stored = (await storage.get_call(call.ctx.call_id)).cost

    items = stored["items"]
    assert items["stt"]["quantity"] == 3.5  # each metrics frame counted once
    assert items["llm_input"]["quantity"] == 2400 and items["llm_output"]["quantity"] == 160
    assert items["tts"]["quantity"] == 250
    call_secs = items["call"]["quantity"]
    # Observers see frames through a queue, so the clock may start a few ms after the push
    # (CI saw 0.296 s for a 0.3 s sleep): the call time must be about the sleep, not exact.
    assert 0.25 <= call_secs < 1.0, call_secs
    expected = {
        "stt": 3.5 / 60 * 0.01,
        "llm_input": 2400 / 1e6 * 1.0,
        "llm_output": 160 / 1e6 * 4.0,
        "tts": 250 / 1000 * 0.05,
        "call": call_secs / 60 * 0.02,
    }
    for name, amount in expected.items():
        assert items[name]["amount"] == pytest.approx(amount, abs=1e-6), name
    assert stored["total"] == pytest.approx(sum(expected.values()), abs=1e-6)
    assert stored["currency"] == "USD"
    assert live["items"]["llm_input"]["quantity"] == 2400, "the estimate is live during the call"
    assert stored["items"]["call"]["quantity"] >= live["items"]["call"]["quantity"]


async def test_cost_without_a_call_row_does_not_fail(storage):
    plugin = CostPlugin(PRICES, storage)
    call = await built_call([plugin])
    plugin.observers(call)
    await plugin.detach(call)
    assert call.resources[RESOURCE_KEY].ended is not None


def test_prices_come_from_settings(settings):
    prices = Prices.from_settings(settings.model_copy(update={"price_tts_per_kchar": 0.5}))
    assert prices.tts_per_kchar == 0.5 and prices.stt_per_min == settings.price_stt_per_min


def test_nothing_used_costs_nothing():
    from plugins.cost import CallUsage

    assert estimate(CallUsage(), PRICES)["total"] == 0
