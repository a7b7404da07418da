"""OpenAILLMService and GroqLLMService against the chat-completions double."""

from __future__ import annotations

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    FunctionCallInProgressFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.llm import OpenAILLMService

from simulators.doubles.harness import run_pipeline

WEATHER = FunctionSchema(
    name="get_weather",
    description="Get the weather.",
    properties={"city": {"type": "string"}},
    required=["city"],
)


def _context(text: str) -> LLMContext:
    return LLMContext(
        messages=[{"role": "user", "content": text}], tools=ToolsSchema(standard_tools=[WEATHER])
    )


async def _run(llm, context):
    async def drive(worker, collector):
        await worker.queue_frame(LLMContextFrame(context))
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=10)

    return await run_pipeline([llm], drive)


async def test_openai_llm_streams_text_then_tool_call(doubles):
    env = doubles.env()
    await doubles.client.allm_rules(
        [
            {
                "match": "weather",
                "reply": "Let me check.",
                "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
            },
            {"match": "hello", "reply": "Hi, how can I help you today?", "first_token_ms": 50},
        ]
    )
    llm = OpenAILLMService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAILLMService.Settings(model="gpt-4.1", system_instruction="Be brief."),
    )
    calls = []

    async def get_weather(params: FunctionCallParams):
        calls.append(params.arguments)
        await params.result_callback({"forecast": "sunny"})

    llm.register_function("get_weather", get_weather)
    collector = await _run(llm, _context("Hello there"))
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == "Hi, how can I help you today?"

    collector = await _run(llm, _context("What is the weather in Paris?"))
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == "Let me check."
    in_progress = collector.of(FunctionCallInProgressFrame)
    assert [f.function_name for f in in_progress] == ["get_weather"]
    assert in_progress[0].arguments == {"city": "Paris"}
    assert calls == [{"city": "Paris"}]

    requests = await doubles.client.allm_requests()
    assert len(requests) == 2 and requests[0]["stream"] is True
    assert requests[0]["stream_options"] == {"include_usage": True}
    assert requests[1]["tools"][0]["function"]["name"] == "get_weather"
    assert requests[0]["messages"][0]["role"] == "system"


async def test_groq_llm_default_reply_and_bad_key(doubles):
    env = doubles.env()
    llm = GroqLLMService(
        api_key=env["GROQ_API_KEY"],
        base_url=f"{env['GROQ_BASE_URL']}/openai/v1",
        settings=GroqLLMService.Settings(model="openai/gpt-oss-120b"),
    )
    collector = await _run(llm, _context("book a table"))
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == "I heard: book a table."

    bad = GroqLLMService(api_key="gsk_wrong", base_url=f"{env['GROQ_BASE_URL']}/openai/v1")

    async def drive(worker, collector):
        await worker.queue_frame(LLMContextFrame(_context("hi")))
        await collector.wait_for(lambda c: c.errors, timeout=10)

    collector = await run_pipeline([bad], drive)
    assert any("401" in e.error or "API Key" in e.error for e in collector.errors)
    assert (await doubles.client.astats())["services"]["groq_llm"]["auth_failures"] == 1
