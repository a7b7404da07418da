"""OpenTelemetry tracing through Pipecat's tracing, received by a real OTLP/HTTP receiver.

A real call (the launcher, called by the simulated Twilio caller) with
``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at ``tests.otlp_receiver``: one ``conversation``
span per call, ``turn`` spans under it, ``stt`` / ``llm`` / ``tts`` spans under the turns.
"""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assembly.call import CallContext
from assembly.tracing import CONTENT_ATTRIBUTES, _ContentDroppingExporter, worker_tracing
from config import Settings
from simulators.callers.script import HangUp, Say, WaitForBotSilence
from tests.otlp_receiver import OtlpReceiver, Span, render

REPO_ROOT = Path(__file__).resolve().parents[2]
HOURS = "what are your opening hours"
OPEN = "We are open from nine to five."
SERVICE = "switchboard-under-test"
SERVICES = ("stt", "llm", "tts")
SHOWN = (
    "conversation.id",
    "switchboard.persona",
    "switchboard.tenant",
    "switchboard.transport",
    "turn.number",
    "turn.user_bot_latency_seconds",
    "metrics.ttfb",
)


def test_tracing_off_keeps_tracing_and_turn_tracking_off():
    ctx = CallContext(persona="receptionist", transport="twilio")
    assert worker_tracing(ctx, Settings(_env_file=None)) == {
        "enable_tracing": False,
        "enable_turn_tracking": False,
    }


def test_content_is_dropped_from_exported_spans_and_the_rest_kept():
    inner = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_ContentDroppingExporter(inner)))
    with provider.get_tracer("test").start_as_current_span("stt") as span:
        span.set_attribute("transcript", "my card number is 4111")
        span.set_attribute("metrics.ttfb", 0.2)
    [exported] = inner.get_finished_spans()
    assert dict(exported.attributes) == {"metrics.ttfb": 0.2}
    assert exported.context.span_id == span.get_span_context().span_id


EXITING = """
import sys
from opentelemetry import trace
from assembly.tracing import tracing_enabled
from config import Settings
assert tracing_enabled(Settings(_env_file=None, otel_exporter_otlp_endpoint=sys.argv[1]))
trace.get_tracer("test").start_span("ended-just-before-exit").end()
"""


async def test_spans_still_batched_at_process_exit_are_flushed():
    async with OtlpReceiver() as receiver:
        env = {**os.environ, "OTEL_BSP_SCHEDULE_DELAY": "600000"}  # no periodic export
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", EXITING, receiver.url, cwd=REPO_ROOT, env=env
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert [s.name for s in receiver.spans] == ["ended-just-before-exit"]


def _under(parent: Span, spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s.name == name and s.parent_id == parent.span_id]


def _has_conversation(spans: list[Span]) -> bool:
    return any(s.name == "conversation" for s in spans)


def _complete(spans: list[Span]) -> bool:
    """A conversation whose turns hold an stt, an llm and a tts span each, at least once."""
    [conversation] = [s for s in spans if s.name == "conversation"] or [None]
    if conversation is None:
        return False
    turns = _under(conversation, spans, "turn")
    return all(any(_under(turn, spans, name) for turn in turns) for name in SERVICES)


@pytest.mark.parametrize("process_model", ["inprocess", "workers"])
async def test_a_call_exports_its_span_tree(
    doubles, twilio_caller, launcher_factory, process_model
):
    doubles.client.reset()
    doubles.client.stt_phrases([HOURS])
    doubles.client.llm_rules([{"match": "hours", "reply": OPEN}])
    async with OtlpReceiver() as receiver:
        launcher = await asyncio.to_thread(
            launcher_factory,
            ANALYSIS_ENABLED="false",
            PROCESS_MODEL=process_model,
            WORKERS="1",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_SERVICE_NAME=SERVICE,
            # No periodic export within the test: spans arrive because the call's end flushes
            # them, and the rest because the process flushes at exit.
            OTEL_BSP_SCHEDULE_DELAY="600000",
        )
        caller = twilio_caller(launcher)
        result = await caller.run(
            [
                WaitForBotSilence(timeout=15),
                Say(HOURS),
                WaitForBotSilence(timeout=20),
                HangUp(),
            ]
        )
        assert result.errors == [], result.errors
        [call] = (await asyncio.to_thread(launcher.get, "/calls")).json()
        # The call's end flushes its spans: they come before any periodic export would.
        flushed = await receiver.wait_for(_has_conversation, 30)
        assert flushed, f"no conversation span 30 s after the call: {receiver.spans}"
        at_call_end = len(receiver.spans)
        await asyncio.to_thread(launcher.stop)  # the process's exit flushes the rest
        await receiver.wait_for(_complete, 5)
    print(f"{at_call_end} spans at the call's end, {len(receiver.spans)} after exit")
    print(render(receiver.tree(), SHOWN))

    assert receiver.rejected == []
    [conversation] = receiver.named("conversation")
    assert conversation.parent_id == ""
    assert conversation.resource["service.name"] == SERVICE
    assert conversation.attributes["conversation.id"] == call["call_id"]
    assert conversation.attributes["switchboard.persona"] == "receptionist"
    assert conversation.attributes["switchboard.tenant"] == "default"
    assert conversation.attributes["switchboard.transport"] == "twilio"

    turns = receiver.named("turn")
    assert turns and all(t.parent_id == conversation.span_id for t in turns), turns
    assert all(t.trace_id == conversation.trace_id for t in receiver.spans)
    answered = [t for t in turns if _under(t, receiver.spans, "stt")]
    assert answered, "no turn holds an stt span"
    turn = answered[0]
    assert turn.attributes["turn.user_bot_latency_seconds"] > 0
    for name in SERVICES:
        spans = receiver.named(name)
        assert spans, f"no {name} span"
        turn_ids = {t.span_id for t in turns}
        assert all(s.parent_id in turn_ids for s in spans), (name, spans)
    [llm] = _under(turn, receiver.spans, "llm")
    [tts] = _under(turn, receiver.spans, "tts")
    assert 0 < llm.attributes["metrics.ttfb"] < 10
    assert 0 < tts.attributes["metrics.ttfb"] < 10
    assert llm.attributes["gen_ai.usage.output_tokens"] > 0
    # What was said stays out of the spans unless OTEL_TRACE_CONTENT is true.
    assert all(CONTENT_ATTRIBUTES.isdisjoint(s.attributes) for s in receiver.spans)


async def test_tracing_off_puts_nothing_of_it_on_the_frame_path():
    """Off (no OTEL endpoint), a call's worker sees frames with our observers only."""
    from pipecat.observers.turn_tracking_observer import TurnTrackingObserver
    from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
    from pipecat.utils.tracing.turn_trace_observer import TurnTraceObserver

    from assembly.observers import ObserverGroup
    from tests.plugins.calls import built_call

    call = await built_call([], persona="receptionist")
    observers = call.worker._observer._observers  # every observer told of every frame
    assert any(isinstance(o, ObserverGroup) for o in observers), observers  # ours
    tracing = (TurnTrackingObserver, UserBotLatencyObserver, TurnTraceObserver)
    assert not any(isinstance(o, tracing) for o in observers)
    on = await built_call([], persona="receptionist", otel_exporter_otlp_endpoint="http://x")
    assert any(isinstance(o, TurnTraceObserver) for o in on.worker._observer._observers)
