"""Messages, callbacks and bookings land in real SQLite storage through the tools."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pipecat.services.llm_service import FunctionCallParams

from config import Settings
from tools.appointments import book_appointment, check_availability
from tools.calendar import BusinessHours, SlotUnavailableError, StorageCalendar
from tools.for_staff import schedule_callback, take_message


def _params(storage, results: list, settings: Settings | None = None) -> FunctionCallParams:
    """Params as the LLM service builds them, with a result collector (no call attached)."""

    async def result_callback(result, **_kwargs):
        results.append(result)

    return FunctionCallParams(
        function_name="tool", tool_call_id="t1", arguments={}, llm=None, pipeline_worker=None,
        context=None, result_callback=result_callback,
        app_resources={"storage": storage, "settings": settings or Settings(_env_file=None)},
    )  # type: ignore[arg-type]  # fmt: skip


def _next_monday() -> date:
    today = datetime.now(ZoneInfo("UTC")).date()
    return today + timedelta(days=7 - today.weekday())


async def test_take_message_and_schedule_callback_are_stored(storage):
    results: list = []
    await take_message(_params(storage, results), "Robin", "Please call me about my crown",
                       "+15551234567")  # fmt: skip
    await schedule_callback(_params(storage, results), "+15557654321", "tomorrow morning",
                            "billing question")  # fmt: skip
    (message,) = await storage.list_messages("default")
    assert (message.kind, message.name, message.text, message.caller_number) == (
        "message", "Robin", "Please call me about my crown", "+15551234567")  # fmt: skip
    (callback,) = await storage.list_callbacks("default")
    assert (callback.phone, callback.preferred_time, callback.reason) == (
        "+15557654321", "tomorrow morning", "billing question")  # fmt: skip
    assert results[0]["status"] == "message saved" and results[1]["status"] == "callback scheduled"


async def test_business_hours_and_slot_length_shape_the_free_slots(storage):
    hours = BusinessHours.from_settings(
        Settings(_env_file=None, calendar_hours="10:00-12:00", calendar_slot_minutes=45)
    )
    calendar = StorageCalendar(storage, hours=hours)
    monday = _next_monday()
    assert [s.strftime("%H:%M") for s in await calendar.free_slots(monday)] == ["10:00", "10:45"]
    assert await calendar.free_slots(monday + timedelta(days=6)) == []  # Sunday: closed


async def test_check_then_book_then_the_slot_is_gone(storage):
    results: list = []
    monday = _next_monday().isoformat()
    await check_availability(_params(storage, results), monday)
    assert results[0]["available_times"][:2] == ["09:00", "09:30"]
    await book_appointment(_params(storage, results), monday, "09:30", "Robin", "+15551234567")
    assert results[1]["status"] == "booked"
    (apt,) = await storage.list_appointments(
        "default", datetime.fromisoformat(f"{monday}T00:00+00:00"),
        datetime.fromisoformat(f"{monday}T23:59+00:00"),
    )  # fmt: skip
    assert (apt.name, apt.phone, apt.starts_at.strftime("%H:%M")) == ("Robin", "+15551234567",
                                                                       "09:30")  # fmt: skip
    await check_availability(_params(storage, results), monday)
    assert "09:30" not in results[2]["available_times"]
    # Booking it again is refused with the times that are still free.
    await book_appointment(_params(storage, results), monday, "09:30", "Sam", "+15550000000")
    assert results[3]["error"] == "that time is not available"
    assert results[3]["available_times"][:2] == ["09:00", "10:00"]


async def test_booking_outside_hours_is_refused(storage):
    calendar = StorageCalendar(storage)
    with pytest.raises(SlotUnavailableError):
        start = datetime.combine(_next_monday(), datetime.min.time(), ZoneInfo("UTC"))
        await calendar.book(start.replace(hour=20), "Robin", None, None)
