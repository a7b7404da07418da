"""The per-turn latency breakdown, driven through Pipecat's own observer with ``run_test``."""

import asyncio

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    ClientConnectedFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from launcher.metrics import LauncherMetrics
from plugins.latency_breakdown import (
    RESOURCE_KEY,
    STAGES,
    LatencyBreakdownPlugin,
    percentile,
)
from storage import CallRecord
from tests.plugins.calls import built_call
from tests.plugins.emit import Emit, Emitter

TOL = 0.025  # seconds of scheduling slack per stage on a busy 2-core machine


def one_turn(tool_secs: float = 0.0) -> list:
    """A turn with known stage lengths: VAD 0.2, STT 0.1, turn 0.05, own 0.04, LLM 0.2, TTS 0.1."""
    frames = [
        Emit(make=lambda _n: VADUserStartedSpeakingFrame()),
        SleepFrame(0.3),
        Emit(make=lambda _n: VADUserStoppedSpeakingFrame(stop_secs=0.2)),
        SleepFrame(0.1),
        Emit(make=lambda _n: TranscriptionFrame("hello there", "caller", "now", finalized=True)),
        SleepFrame(0.05),
        Emit(make=lambda _n: UserStoppedSpeakingFrame()),
        SleepFrame(0.04),
        Emit(make=lambda _n: LLMFullResponseStartFrame()),
        SleepFrame(0.2),
        Emit(make=lambda n: MetricsFrame(data=[TTFBMetricsData(processor=n, value=0.2)])),
    ]
    if tool_secs:
        frames += [
            Emit(make=lambda _n: FunctionCallInProgressFrame("lookup", "call-1", {})),
            SleepFrame(tool_secs),
            Emit(make=lambda _n: FunctionCallResultFrame("lookup", "call-1", {}, "ok")),
        ]
    return frames + [
        Emit(make=lambda _n: LLMTextFrame("Sure.")),
        SleepFrame(0.1),
        Emit(make=lambda _n: TTSAudioRawFrame(b"\x00" * 320, 16000, 1)),
        Emit(make=lambda _n: BotStartedSpeakingFrame()),
        SleepFrame(0.05),
    ]


async def _run(plugin, frames, row: bool = True):
    call = await built_call([plugin])
    if row and plugin.storage is not None:  # the call-record plugin's row, as at call start
        await plugin.storage.create_call(
            CallRecord(id=call.ctx.call_id, persona="companion", transport="twilio")
        )
    observers = plugin.observers(call)  # fresh per-call state, the observers we drive
    await run_test(
        Emitter(),
        frames_to_send=frames,
        observers=observers,
        pipeline_params=PipelineParams(enable_metrics=True),
    )
    await asyncio.sleep(0.2)  # the observer's handlers run as tasks
    return call


async def test_stages_add_up_to_the_total_and_match_the_known_timeline(storage):
    metrics = LauncherMetrics()
    plugin = LatencyBreakdownPlugin(storage, metrics)
    call = await _run(plugin, one_turn())

    [turn] = call.resources[RESOURCE_KEY].turns
    assert abs(sum(turn[s] for s in STAGES) - turn["total"]) < 0.5, turn  # ms, rounding only
    expected = {"end_of_turn": 0.25, "stt": 0.1, "own": 0.04, "llm": 0.2, "tts": 0.1, "tool": 0}
    for stage, secs in expected.items():
        assert abs(turn[stage] / 1000 - secs) < TOL, (stage, turn)
    assert abs(turn["total"] / 1000 - 0.69) < 2 * TOL, turn
    assert call.turn_latencies == [pytest.approx(turn["total"] / 1000, abs=1e-3)]

    rows = await storage.list_turn_metrics(call.ctx.call_id)
    assert [(r.turn, r.total_ms, r.llm_ms) for r in rows] == [(1, turn["total"], turn["llm"])]
    text = metrics.render().decode()
    for stage in (*STAGES, "total"):
        assert f'switchboard_turn_stage_seconds_count{{stage="{stage}"}} 1.0' in text, stage
    assert "switchboard_voice_to_voice_seconds_count 1.0" in text


async def test_tool_time_is_its_own_stage_and_counted_for_the_call(storage):
    plugin = LatencyBreakdownPlugin(storage, None)
    call = await _run(plugin, one_turn(tool_secs=0.15))
    record = call.resources[RESOURCE_KEY]
    [turn] = record.turns
    assert abs(turn["tool"] / 1000 - 0.15) < TOL, turn
    assert abs(sum(turn[s] for s in STAGES) - turn["total"]) < 0.5, turn
    assert abs(record.tool_ms_total - 150) < TOL * 1000, record


async def test_greeting_time_and_per_call_summary_written_to_the_call(storage):
    plugin = LatencyBreakdownPlugin(storage, None)
    call = await built_call([plugin])
    await storage.create_call(
        CallRecord(id=call.ctx.call_id, persona="companion", transport="twilio")
    )
    observers = plugin.observers(call)
    greeting = [
        Emit(make=lambda _n: ClientConnectedFrame()),
        SleepFrame(0.12),
        Emit(make=lambda _n: TTSAudioRawFrame(b"\x00" * 320, 16000, 1)),
        Emit(make=lambda _n: BotStartedSpeakingFrame()),
        SleepFrame(0.05),
    ]
    await run_test(
        Emitter(),
        frames_to_send=greeting + one_turn() + one_turn(),
        observers=observers,
        pipeline_params=PipelineParams(enable_metrics=True),
    )
    await asyncio.sleep(0.2)
    await plugin.detach(call)

    record = call.resources[RESOURCE_KEY]
    assert len(record.turns) == 2, "the greeting is not a turn"
    assert abs(record.first_greeting_ms - 120) < TOL * 1000, record.first_greeting_ms
    stored = (await storage.get_call(call.ctx.call_id)).latency
    assert stored["turns"] == 2 and stored["first_greeting_ms"] == record.first_greeting_ms
    totals = sorted(t["total"] for t in record.turns)
    assert stored["stages"]["total"]["p50"] == pytest.approx(sum(totals) / 2, abs=0.1)
    assert set(stored["stages"]) == {*STAGES, "total"}
    details = plugin.details(call)["latency"]
    assert details["turns_ms"] == record.turns and details["stages"] == stored["stages"]


async def test_summary_of_a_call_without_a_row_does_not_fail(storage):
    plugin = LatencyBreakdownPlugin(storage, None)
    call = await _run(plugin, one_turn(), row=False)
    await plugin.detach(call)  # no calls row: logged, not raised
    assert await storage.get_call(call.ctx.call_id) is None


def test_percentiles_interpolate():
    assert percentile([100, 200, 300, 400], 50) == 250
    assert percentile([100, 200, 300, 400], 95) == pytest.approx(385)
    assert percentile([42], 95) == 42
