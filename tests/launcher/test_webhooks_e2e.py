"""Webhook outbox end to end: receiver outage, launcher restart, every event arrives once."""

import asyncio

from simulators.callers.script import Say, WaitForBotSilence
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually
from tests.launcher.process import free_port
from tests.webhooks.receiver import Receiver

SECRET = "whsec-e2e-0123456789abcdef"


async def _events(launcher, status: str | None = None) -> list[dict]:
    query = f"?status={status}" if status else ""
    response = await asyncio.to_thread(launcher.get, f"/webhooks/events{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_receiver_outage_and_restart_every_event_arrives_once(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])
    receiver = Receiver(SECRET, port=free_port())  # not started: the business is down
    env = {
        "DATA_DIR": str(tmp_path),
        "WEBHOOK_URLS": f'["{receiver.url}"]',
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_BACKOFF_SECS": "0.5",
        "WEBHOOK_BACKOFF_MAX_SECS": "2",
        "WEBHOOK_MAX_ATTEMPTS": "1000",
    }
    first = launcher_factory(**env)
    for _ in range(2):
        caller = twilio_caller(first)
        result = await caller.run(
            [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
        )
        assert result.connected and result.errors == [], result.errors

    async def all_queued_and_failing() -> bool:
        events = await _events(first)
        ended = [e for e in events if e["type"] == "call.ended"]
        return len(ended) == 2 and all(e["attempts"] >= 1 for e in events)

    await aeventually(all_queued_and_failing, 60, "both calls' events, failing", every=0.3)
    pending = await _events(first, "pending")
    assert len(pending) == 4 and all(e["last_error"] for e in pending), pending
    assert await _events(first, "delivered") == []
    # The backlog a dashboard shows (switchboard_webhook_backlog) is what the outbox holds.
    assert 'switchboard_webhook_backlog{status="pending"} 4.0' in first.get("/metrics").text

    first.stop()  # SIGTERM: the launcher goes away with its events still pending
    assert first.proc.returncode == 0
    second = launcher_factory(**env)  # the next process, same DATA_DIR
    await receiver.start()  # the business comes back
    try:
        async def all_delivered() -> bool:
            return len(await _events(second, "delivered")) == 4

        await aeventually(all_delivered, 60, "the four events delivered", every=0.3)
        assert 'switchboard_webhook_backlog{status="pending"} 0.0' in second.get("/metrics").text
    finally:
        await receiver.stop()

    outbox = await _events(second)
    assert {e["id"] for e in outbox} == set(receiver.events)  # every event arrived
    assert len(receiver.events) == 4 and receiver.rejected == 0  # one each after dedup
    print("deliveries per event id:", receiver.deliveries)
    by_call: dict[str, list[str]] = {}
    for event in receiver.events.values():
        call = event["data"]["call"]
        by_call.setdefault(call["id"], []).append(event["type"])
    assert sorted(map(sorted, by_call.values())) == [["call.ended", "call.started"]] * 2
    ended = [e for e in receiver.events.values() if e["type"] == "call.ended"]
    for event in ended:
        texts = [t["text"].lower().rstrip(".") for t in event["data"]["transcript"]]
        assert BOOKING.lower() in texts, texts
        assert event["data"]["outcome"] is not None  # call.ended waited for the analysis
        assert event["data"]["call"]["status"] == "ended"
