"""Post-call analysis and call.ended, against the LLM double and real SQLite."""

import json

import pytest

from config import Settings
from postcall.analysis import INSTRUCTION, parse_outcome
from postcall.background import wait_for_background
from postcall.finish import finish_call
from storage.base import CallRecord, TranscriptTurn
from storage.call_writer import CallWriter

OUTCOME = {
    "summary": "The caller booked a cleaning for tomorrow morning.",
    "intent": "book an appointment",
    "sentiment": "positive",
    "action_items": ["send a reminder the day before"],
    "feedback": "Clear and polite; state the time you want earlier.",
}
MATCH = "analyse the call transcript"


@pytest.fixture
def settings(doubles, monkeypatch) -> Settings:
    for key, value in doubles.env().items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None, webhook_urls=["http://127.0.0.1:9/hook"])


async def _call(storage, call_id: str) -> None:
    await storage.create_call(CallRecord(id=call_id, persona="coach", transport="twilio"))
    for seq, (role, text) in enumerate(
        [("assistant", "Hi! Let's practise."), ("user", "I would like to book a cleaning")], 1
    ):
        await storage.add_turn(TranscriptTurn(call_id=call_id, seq=seq, role=role, text=text))


def _analysis_requests(doubles) -> list[dict]:
    return [
        r for r in doubles.client.llm_requests()
        if r["messages"] and r["messages"][-1]["content"] == INSTRUCTION
    ]


async def test_analysis_is_retried_after_a_500_and_stored_before_call_ended(
    doubles, storage, settings
):
    doubles.client.reset()
    doubles.client.llm_rules(
        [
            {"match": MATCH, "status": 500, "once": True},
            {"match": MATCH, "reply": json.dumps(OUTCOME)},
        ]
    )
    await _call(storage, "call_analysis")
    writer = CallWriter("call_analysis")
    await finish_call(storage, settings, "call_analysis", writer, {"feedback": "tips"})
    record = await storage.get_call("call_analysis")
    assert record.analysis == OUTCOME
    requests = _analysis_requests(doubles)
    assert len(requests) == 2  # the first answered 500, the retry succeeded
    schema = requests[0]["body"]["response_format"]["json_schema"]["schema"]
    assert "feedback" in schema["required"]  # the persona's own field is asked for
    assert "I would like to book a cleaning" in requests[0]["messages"][0]["content"]
    [ended] = await storage.list_events()
    assert ended.type == "call.ended"
    data = ended.payload["data"]
    assert data["outcome"] == OUTCOME
    assert [t["text"] for t in data["transcript"]] == [
        "Hi! Let's practise.", "I would like to book a cleaning"
    ]
    await wait_for_background(1)


async def test_a_call_nobody_spoke_in_is_not_analysed(doubles, storage, settings):
    doubles.client.reset()
    await storage.create_call(CallRecord(id="call_silent", persona="coach", transport="twilio"))
    await finish_call(storage, settings, "call_silent", CallWriter("call_silent"), {})
    assert _analysis_requests(doubles) == []
    [ended] = await storage.list_events()
    assert ended.payload["data"]["outcome"] is None


def test_an_answer_missing_a_field_or_not_json_is_rejected():
    with pytest.raises(ValueError):
        parse_outcome(json.dumps({k: v for k, v in OUTCOME.items() if k != "feedback"}),
                      {"feedback": "tips"})
    with pytest.raises(ValueError):
        parse_outcome("Sure! Here is the summary.", {})
    with pytest.raises(ValueError):
        parse_outcome(json.dumps({**OUTCOME, "sentiment": "ecstatic"}), {})
