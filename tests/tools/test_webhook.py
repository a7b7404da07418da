"""Webhook tools: signed with HMAC-SHA256 over "{timestamp}.{body}", and timed out."""

import hashlib
import hmac
import socket
import time

import pytest

from config import Settings
from tests.tools.receiver import Receiver
from tools.declared import WebhookTool
from tools.webhook import post_webhook, resolve, webhook_spec
from webhooks.signing import sign

SECRET = "s3cret-for-tests"
KB = WebhookTool(
    name="query_knowledge_base",
    description="Search the knowledge base.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}},
                "required": ["query"]},
    url="$ASSISTANT_KB_WEBHOOK_URL",
    secret="$TOOL_WEBHOOK_SECRET",
)  # fmt: skip


@pytest.fixture
async def receiver():
    running = await Receiver(SECRET).start()
    yield running
    await running.stop()


def test_tool_calls_are_signed_like_business_webhooks():
    body = b'{"tool":"x","arguments":{},"call_id":"c"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", body) == f"v1={expected}"


async def test_call_is_posted_signed_and_its_json_answer_is_the_result(receiver):
    result = await post_webhook(
        KB, f"{receiver.url}/kb", SECRET, 5.0, {"query": "opening hours"}, "call_1"
    )
    assert result == {"answer": "Our office opens at nine"}
    (request,) = receiver.requests
    assert request["signature_ok"] is True  # the receiver recomputed the HMAC
    assert request["body"] == {
        "tool": "query_knowledge_base", "arguments": {"query": "opening hours"},
        "call_id": "call_1",
    }  # fmt: skip


async def test_wrong_secret_is_refused_by_the_receiver_and_the_llm_gets_an_error(receiver):
    result = await post_webhook(KB, f"{receiver.url}/kb", "other", 5.0, {"query": "x"}, "c")
    assert receiver.requests[0]["signature_ok"] is False
    assert result == {"error": "query_knowledge_base failed (HTTP 401)"}


async def test_slow_receiver_is_timed_out_and_the_llm_gets_an_error(receiver):
    receiver.delay_secs = 3.0
    started = time.monotonic()
    result = await post_webhook(KB, f"{receiver.url}/kb", SECRET, 0.5, {"query": "x"}, "c")
    elapsed = time.monotonic() - started
    assert result == {"error": "query_knowledge_base did not answer in time"}
    assert 0.45 <= elapsed < 1.5, elapsed


async def test_receiver_down_gives_an_error_result():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await post_webhook(KB, f"http://127.0.0.1:{port}/kb", SECRET, 2.0, {}, "c")
    assert result == {"error": "query_knowledge_base could not be reached"}


def test_urls_and_secrets_come_from_settings_and_unconfigured_tools_are_not_offered():
    settings = Settings(_env_file=None, assistant_kb_webhook_url="http://127.0.0.1:9/kb",
                        tool_webhook_secret="abc")  # fmt: skip
    assert resolve("$TOOL_WEBHOOK_SECRET", settings) == "abc"
    assert webhook_spec(KB, settings) is not None
    assert webhook_spec(KB, Settings(_env_file=None)) is None


def test_a_declared_tool_must_name_a_real_setting():
    with pytest.raises(ValueError, match="NOT_A_SETTING is not a setting"):
        WebhookTool(name="x", description="x", url="$NOT_A_SETTING")
