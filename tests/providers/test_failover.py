"""A backup LLM answers the turn the primary failed; the caller's pipeline sees one reply.

Real Pipecat services (the factory's, bounded in time) against the chat-completions double,
whose rules fail only the primary's model.
"""

from __future__ import annotations

import time

import pytest
from pipecat.frames.frames import (
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext

from config import Settings
from providers import build_services
from providers.failover import FailoverLLM
from providers.spec import llm, stt, tts
from simulators.doubles.harness import run_pipeline

PRIMARY, BACKUP = "gpt-4o-mini", "llama-3.3-70b-versatile"


def _settings(doubles, **extra) -> Settings:
    env = doubles.env()
    return Settings(
        _env_file=None,
        openai_api_key=env["OPENAI_API_KEY"],
        openai_base_url=env["OPENAI_BASE_URL"],
        groq_api_key=env["GROQ_API_KEY"],
        groq_base_url=env["GROQ_BASE_URL"],
        deepgram_api_key="dg-x",
        cartesia_api_key="sk_car_x",
        **extra,
    )


def _llm(settings: Settings, backup: bool = True):
    chosen = {"stt": stt("deepgram"), "llm": llm("openai", model=PRIMARY), "tts": tts("cartesia")}
    backups = {"llm": llm("groq", model=BACKUP)} if backup else {}
    return build_services(chosen, settings, language="en", prompt="Be brief.", backups=backups)


async def _ask(service, text: str, wait: float = 15.0):
    context = LLMContext(messages=[{"role": "user", "content": text}])

    async def drive(worker, collector):
        await worker.queue_frame(LLMContextFrame(context))
        await collector.wait_for(lambda c: c.of(LLMFullResponseEndFrame), timeout=wait)

    began = time.monotonic()
    collector = await run_pipeline([service], drive, timeout=wait + 5)
    return collector, began


def _reply(collector) -> str:
    return "".join(f.text for f in collector.of(LLMTextFrame))


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"status": 429}, {"reply": "Late.", "first_token_ms": 30000}]
)
async def test_a_failing_primary_llm_is_answered_by_the_backup_once(doubles, fault):
    await doubles.client.areset()
    await doubles.client.allm_rules(
        [
            {"match": "hours", "model": PRIMARY, **fault},
            {"match": "hours", "model": BACKUP, "reply": "Nine to five."},
        ]
    )
    services = _llm(_settings(doubles, llm_first_token_timeout_secs=1.5))
    assert isinstance(services.llm, FailoverLLM)
    collector, began = await _ask(services.llm, "what are your hours")
    assert _reply(collector) == "Nine to five."
    assert len(collector.of(LLMFullResponseStartFrame)) == 1
    assert len(collector.of(LLMFullResponseEndFrame)) == 1
    # One quick retry on an error (not the client's two with back-off); a hang is cut at the
    # first-token bound.
    assert collector.first_time(LLMTextFrame) - began < 3.0
    models = [r["body"]["model"] for r in await doubles.client.allm_requests()]
    primary_attempts = models.count(PRIMARY)
    assert primary_attempts == (1 if "first_token_ms" in fault else 2), models
    assert models[-1] == BACKUP


async def test_a_hanging_llm_without_backup_ends_its_reply_at_the_bound(doubles):
    await doubles.client.areset()
    await doubles.client.allm_rules([{"match": "hours", "reply": "Late.", "first_token_ms": 30000}])
    services = _llm(_settings(doubles, llm_first_token_timeout_secs=1.5), backup=False)
    collector, began = await _ask(services.llm, "what are your hours")
    ended = next(t for t, f in collector.frames if isinstance(f, LLMFullResponseEndFrame))
    assert _reply(collector) == ""
    assert 1.4 < ended - began < 3.0
    assert any("within 1.5 s" in e.error for e in collector.errors), collector.errors


async def test_a_stalled_stream_is_cut_at_the_idle_bound(doubles):
    await doubles.client.areset()
    # Two words a second: the gaps outlast the 0.3 s idle bound after the first token.
    await doubles.client.allm_rules(
        [{"match": "hours", "reply": "We open at nine and close at five.", "tokens_per_sec": 2}]
    )
    settings = _settings(doubles, llm_idle_timeout_secs=0.3)
    collector, _ = await _ask(_llm(settings, backup=False).llm, "what are your hours")
    assert _reply(collector).startswith("We")
    assert _reply(collector) != "We open at nine and close at five."
    assert any("no next token" in e.error for e in collector.errors), collector.errors
