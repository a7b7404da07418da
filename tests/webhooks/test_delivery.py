"""The outbox delivery worker against a real HTTP receiver and real SQLite."""

from datetime import timedelta

from config import Settings
from storage.base import now
from tests.eventually import aeventually
from tests.webhooks.receiver import Receiver
from webhooks.delivery import DeliveryWorker, backoff_secs
from webhooks.outbox import enqueue

SECRET = "whsec-test-0123456789"


def _settings(url: str, **overrides) -> Settings:
    return Settings(
        _env_file=None,
        webhook_urls=[url],
        webhook_secret=SECRET,
        webhook_backoff_secs=0.2,
        webhook_backoff_max_secs=1.0,
        webhook_poll_secs=0.05,
        webhook_timeout_secs=2,
        **overrides,
    )


async def test_failed_deliveries_are_retried_then_delivered_once_signed(storage):
    receiver = await Receiver(SECRET).start()
    receiver.fail_next = 2
    settings = _settings(receiver.url)
    [event] = await enqueue(
        storage, settings, tenant="acme", persona="receptionist", call_id=None,
        type="call.started", data={"call": {"id": "call_1"}},
    )
    worker = DeliveryWorker(storage, settings)
    worker.start()
    try:
        async def delivered():
            return bool(await storage.list_events(status="delivered"))

        await aeventually(delivered, 10, "the event delivered", every=0.05)
    finally:
        await worker.stop()
        await receiver.stop()
    [stored] = await storage.list_events(status="delivered")
    assert stored.id == event.id and stored.attempts == 2, stored
    assert receiver.deliveries == {event.id: 1} and receiver.rejected == 0
    body = receiver.events[event.id]
    assert body["type"] == "call.started" and body["data"] == {"call": {"id": "call_1"}}
    assert set(body) == {"id", "type", "created_at", "data"}


async def test_gives_up_after_max_attempts_with_the_last_error(storage):
    settings = _settings("http://127.0.0.1:9/hook", webhook_max_attempts=3)  # nothing listens
    await enqueue(
        storage, settings, tenant="default", persona="coach", call_id=None,
        type="call.ended", data={},
    )
    worker = DeliveryWorker(storage, settings)
    worker.start()
    try:
        async def failed():
            return bool(await storage.list_events(status="failed"))

        await aeventually(failed, 10, "the event given up as failed", every=0.05)
    finally:
        await worker.stop()
    [event] = await storage.list_events(status="failed")
    assert event.attempts == 3
    assert "Connect" in (event.last_error or ""), event.last_error
    assert await storage.due_events(now() + timedelta(days=1)) == []


async def test_no_urls_no_events(storage):
    settings = Settings(_env_file=None)
    events = await enqueue(
        storage, settings, tenant="default", persona="coach", call_id=None,
        type="call.started", data={},
    )
    assert events == [] and await storage.list_events() == []


def test_backoff_doubles_with_bounded_jitter_and_a_cap():
    for failed, low in ((1, 5), (2, 10), (3, 20), (10, 60)):
        delay = backoff_secs(failed, base=5, cap=60)
        assert low <= delay <= low * 1.25, (failed, delay)
