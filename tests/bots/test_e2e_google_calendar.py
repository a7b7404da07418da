"""A receptionist booking over the phone lands in the tenant's Google Calendar (the double).

Twilio caller (``?tenant=brightsmile``) → launcher → provider doubles, with
``GOOGLE_CALENDAR_TENANTS`` mapping that tenant to a calendar of the Calendar API v3 double.
The first booking shows up as an event; the second asks for a time the calendar has busy and
is refused with the free times instead, and no event is added.
"""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from simulators.callers.script import Say, WaitForBotSilence

CAL = "c_brightsmile@group.calendar.google.com"
TZ = ZoneInfo("Europe/London")
BOOK_Q = "i would like to book an appointment"
AGAIN_Q = "i would like another appointment"


def _next_weekday(days_ahead: int = 3) -> date:
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _booking(day: date, at: str) -> dict:
    return {"date": day.isoformat(), "time": at, "name": "Jane Doe", "phone": "+15551234567"}


async def test_google_calendar_booking_shows_up_and_a_busy_slot_is_refused(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    day = _next_weekday()
    busy_start = datetime(day.year, day.month, day.day, 15, tzinfo=TZ)
    doubles.client.reset()
    doubles.client.gcal_reset()
    busy = {"start": busy_start.isoformat(), "end": (busy_start + timedelta(hours=1)).isoformat()}
    doubles.client.gcal_add_calendar(CAL, "Europe/London", [busy])
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(doubles.client.gcal_service_account()))
    doubles.client.stt_phrases([BOOK_Q, AGAIN_Q])
    doubles.client.llm_rules([
        {"match": "book an appointment",
         "tool_calls": [{"name": "book_appointment", "arguments": _booking(day, "11:00")}]},
        {"match": "another appointment",
         "tool_calls": [{"name": "book_appointment", "arguments": _booking(day, "15:30")}]},
        {"after_tool": "book_appointment", "reply": "Let me tell you what I found."},
    ])  # fmt: skip
    launcher = launcher_factory(
        GOOGLE_CALENDAR_CREDENTIALS_FILE=str(key_file),
        GOOGLE_CALENDAR_TENANTS=json.dumps({"brightsmile": {"calendar_id": CAL}}),
    )
    caller = twilio_caller(launcher, persona="receptionist", tenant="brightsmile")
    result = await caller.run([
        WaitForBotSilence(timeout=15), Say(BOOK_Q), WaitForBotSilence(timeout=15),
        Say(AGAIN_Q), WaitForBotSilence(timeout=15),
    ])  # fmt: skip
    assert result.errors == []

    (event,) = doubles.client.gcal()["events"][CAL]  # the busy slot added nothing
    start = datetime(day.year, day.month, day.day, 11, tzinfo=TZ)
    assert event["start"] == {"dateTime": start.isoformat(), "timeZone": "Europe/London"}
    assert event["end"]["dateTime"] == (start + timedelta(minutes=30)).isoformat()
    assert event["summary"] == "Appointment: Jane Doe"

    tool_results = [json.loads(m["content"]) for r in doubles.client.llm_requests()
                    for m in r["messages"] if m["role"] == "tool"]  # fmt: skip
    booked = next(t for t in tool_results if t.get("status") == "booked")
    assert booked["appointment_id"] == event["id"] and booked["time"] == "11:00"
    refused = next(t for t in tool_results if "error" in t)
    assert refused["error"] == "that time is not available"
    assert "15:30" not in refused["available_times"] and "11:00" not in refused["available_times"]
