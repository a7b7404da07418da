"""Every tool is guarded: invalid arguments never run it, and a failing tool never ends the call.

A real OpenAILLMService talks to the chat-completions double (scripted to call the tools), and
a real assistant aggregator puts the results in the context and runs the LLM again.
"""

import json

from pipecat.frames.frames import EndFrame, EndWorkerFrame, ErrorFrame, LLMContextFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.tests.utils import SleepFrame, run_test

from tools.spec import ToolSpec, function_schema

RAN: list[dict] = []


async def _explode(params, args):
    RAN.append(args)
    raise RuntimeError("the booking system is down")


async def _lookup(params, args):
    RAN.append(args)
    await params.result_callback({"found": True})


EXPLODE = ToolSpec("cancel_booking", "Cancel a booking.", {"id": {"type": "integer"}}, ["id"],
                   _explode)  # fmt: skip
LOOKUP = ToolSpec("lookup_order", "Look up an order.", {"order": {"type": "integer"}}, ["order"],
                  _lookup)  # fmt: skip


async def _converse(doubles, user_text: str):
    env = doubles.env()
    llm = OpenAILLMService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAILLMService.Settings(model="gpt-4o-mini"),
    )
    context = LLMContext(
        messages=[{"role": "user", "content": user_text}],
        tools=[function_schema(EXPLODE), function_schema(LOOKUP)],
    )
    _, assistant = LLMContextAggregatorPair(context)
    down, up = await run_test(
        Pipeline([llm, assistant]),
        frames_to_send=[LLMContextFrame(context), SleepFrame(2.5)],
    )
    return context, down, up


async def test_failing_tool_never_ends_the_call(doubles):
    RAN.clear()
    await doubles.client.allm_rules([
        {"match": "cancel", "tool_calls": [{"name": "cancel_booking", "arguments": {"id": 7}}]},
        {"after_tool": "cancel_booking", "reply": "Sorry, I could not cancel it right now."},
        {"match": "thanks", "reply": "You are welcome."},
    ])  # fmt: skip
    context, down, up = await _converse(doubles, "please cancel my booking")
    assert RAN == [{"id": 7}]  # the tool did run, and raised
    # The LLM was told what went wrong and answered with an apology...
    requests = await doubles.client.allm_requests()
    tool_msg = [m for m in requests[-1]["messages"] if m["role"] == "tool"][-1]
    assert "cancel_booking failed (RuntimeError)" in tool_msg["content"]
    assert context.messages[-1] == {
        "role": "assistant", "content": "Sorry, I could not cancel it right now."
    }  # fmt: skip
    # ...and nothing ended the pipeline early or reported an error to the worker.
    assert not [f for f in down + up if isinstance(f, ErrorFrame | EndFrame | EndWorkerFrame)]


async def test_invalid_arguments_never_run_the_tool_and_the_llm_hears_why(doubles):
    RAN.clear()
    await doubles.client.allm_rules([
        {"match": "order", "tool_calls": [{"name": "lookup_order",
                                           "arguments": {"order": "seven", "x": 1}}]},
        {"after_tool": "lookup_order", "reply": "Could you repeat the order number?"},
    ])  # fmt: skip
    context, _, _ = await _converse(doubles, "where is my order")
    assert RAN == []
    (tool_msg,) = [m for m in context.messages if m["role"] == "tool"]
    error = json.loads(tool_msg["content"])["error"]
    assert error.startswith("invalid arguments for lookup_order")
    assert "order: expected integer, got str" in error
    assert "x: is not an accepted argument" in error
    assert context.messages[-1]["content"] == "Could you repeat the order number?"
