"""The tool filler: "One moment please." when a tool is slow, silence when it is fast."""

from pipecat.frames.frames import (
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InterruptionFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import SleepFrame, run_test

from tools.filler import DEFAULT_FILLER, ToolFiller


def _started(name: str = "query_knowledge_base", call_id: str = "c1"):
    return FunctionCallInProgressFrame(function_name=name, tool_call_id=call_id, arguments={})


def _done(name: str = "query_knowledge_base", call_id: str = "c1"):
    return FunctionCallResultFrame(
        function_name=name, tool_call_id=call_id, arguments={}, result={"ok": True}
    )


def _fillers(frames) -> list[TTSSpeakFrame]:
    return [f for f in frames if isinstance(f, TTSSpeakFrame)]


async def test_slow_tool_gets_one_filler_kept_out_of_the_context():
    filler = ToolFiller(after_secs=0.2)
    down, _ = await run_test(filler, frames_to_send=[_started(), SleepFrame(0.6), _done()])
    (said,) = _fillers(down)
    assert said.text == DEFAULT_FILLER
    assert said.append_to_context is False
    # The filler is spoken while the tool runs: before its result goes on.
    types = [type(f) for f in down]
    assert types.index(TTSSpeakFrame) < types.index(FunctionCallResultFrame)


async def test_fast_tool_gets_no_filler():
    down, _ = await run_test(
        ToolFiller(after_secs=0.3), frames_to_send=[_started(), SleepFrame(0.05), _done(),
                                                     SleepFrame(0.5)]
    )  # fmt: skip
    assert _fillers(down) == []


async def test_tool_calls_seen_travelling_upstream_from_the_llm_count_too():
    # Placed before the LLM, the filler sees the LLM's broadcast copies going upstream; the
    # filler itself still goes downstream, towards TTS.
    filler = ToolFiller(after_secs=0.1)
    down, up = await run_test(
        filler,
        frames_to_send=[_started(), SleepFrame(0.4), _done()],
        frames_to_send_direction=FrameDirection.UPSTREAM,
    )
    assert len(_fillers(down)) == 1 and _fillers(up) == []


async def test_tools_that_speak_for_themselves_get_no_filler():
    filler = ToolFiller(after_secs=0.1, quiet_tools=["end_call"])
    down, _ = await run_test(
        filler, frames_to_send=[_started("end_call"), SleepFrame(0.4), _done("end_call")]
    )
    assert _fillers(down) == []


async def test_caller_interrupting_cancels_a_pending_filler():
    filler = ToolFiller(after_secs=0.3)
    down, _ = await run_test(
        filler,
        frames_to_send=[_started(), SleepFrame(0.1), InterruptionFrame(), SleepFrame(0.5),
                        _done()],
    )  # fmt: skip
    assert _fillers(down) == []


async def test_one_filler_per_batch_and_again_for_the_next_batch():
    filler = ToolFiller(after_secs=0.1)
    down, _ = await run_test(
        filler,
        frames_to_send=[
            _started(call_id="a"), _started(call_id="b"), SleepFrame(0.4),
            _done(call_id="a"), SleepFrame(0.3), _done(call_id="b"),
            _started(call_id="c"), SleepFrame(0.4), _done(call_id="c"),
        ],
    )  # fmt: skip
    assert len(_fillers(down)) == 2
