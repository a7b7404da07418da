"""GoogleCalendar against the Calendar API v3 double (service-account token, freeBusy, insert)."""

import asyncio
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import Settings
from tools import google_calendar
from tools.calendar import SlotUnavailableError
from tools.google_calendar import GoogleCalendar, GoogleCalendarError, event_id

CAL = "bookings@brightsmile.example"
NY = ZoneInfo("America/New_York")


def _day() -> date:
    day = date.today() + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _key_file(doubles, tmp_path, **changes) -> str:
    key = {**doubles.client.gcal_service_account(), **changes}
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(key))
    return str(path)


def _settings(doubles, key_file: str, **tenant) -> Settings:
    return Settings(
        _env_file=None,
        google_calendar_api_url=doubles.env()["GOOGLE_CALENDAR_API_URL"],
        google_calendar_credentials_file=key_file,
        google_calendar_tenants={"default": {"calendar_id": CAL, **tenant}},
    )


@pytest.fixture
def seeded(doubles):
    doubles.client.gcal_reset()
    google_calendar._TOKENS.clear()
    day = _day()
    ten = datetime(day.year, day.month, day.day, 10, tzinfo=NY)
    busy = {"start": ten.isoformat(), "end": (ten + timedelta(minutes=30)).isoformat()}
    doubles.client.gcal_add_calendar(CAL, "America/New_York", [busy])
    return day


async def test_timezone_comes_from_the_calendar_and_busy_times_are_not_offered(
    doubles, tmp_path, seeded
):
    calendar = await GoogleCalendar.open(
        _settings(doubles, _key_file(doubles, tmp_path)), "default"
    )
    assert calendar.tz == NY
    free = await calendar.free_slots(seeded)
    times = [s.strftime("%H:%M") for s in free]
    assert "10:00" not in times and times[:3] == ["09:00", "09:30", "10:30"]
    assert all(s.tzinfo == NY for s in free)
    (query,) = [r for r in doubles.client.gcal()["requests"] if r["path"].endswith("/freeBusy")]
    assert query["body"]["items"] == [{"id": CAL}]
    assert query["body"]["timeMin"][-6:] in ("-05:00", "-04:00")  # New York time


async def test_booking_inserts_the_event_and_a_busy_slot_is_refused(doubles, tmp_path, seeded):
    settings = _settings(doubles, _key_file(doubles, tmp_path), slot_minutes=45)
    calendar = await GoogleCalendar.open(settings, "default")
    start = datetime(
        seeded.year, seeded.month, seeded.day, 10, 30, tzinfo=NY
    )  # slots: 9:00, 9:45...
    appointment = await calendar.book(start, "Jane Doe", "+15551234567", "call-1")
    (event,) = doubles.client.gcal()["events"][CAL]
    assert event["id"] == appointment.id == event_id(CAL, start)
    assert event["summary"] == "Appointment: Jane Doe" and "+15551234567" in event["description"]
    assert event["start"] == {"dateTime": start.isoformat(), "timeZone": "America/New_York"}
    assert event["end"]["dateTime"] == (start + timedelta(minutes=45)).isoformat()
    with pytest.raises(SlotUnavailableError):  # 9:45-10:30 overlaps the seeded busy time
        await calendar.book(start.replace(hour=9, minute=45), "Joe", None, "call-2")
    with pytest.raises(SlotUnavailableError):  # the event just booked
        await calendar.book(start, "Joe", None, "call-2")
    assert len(doubles.client.gcal()["events"][CAL]) == 1


async def test_a_tenant_timezone_overrides_the_calendars(doubles, tmp_path, seeded):
    settings = _settings(doubles, _key_file(doubles, tmp_path), timezone="Europe/Paris")
    calendar = await GoogleCalendar.open(settings, "default")
    assert calendar.tz == ZoneInfo("Europe/Paris")
    assert not [r for r in doubles.client.gcal()["requests"] if r["method"] == "GET"]


async def test_a_foreign_service_account_key_is_refused(doubles, tmp_path, seeded):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()  # fmt: skip
    key_file = _key_file(doubles, tmp_path, private_key=pem)
    with pytest.raises(GoogleCalendarError, match="refused the service account"):
        await GoogleCalendar.open(_settings(doubles, key_file), "default")


async def test_tenants_not_listed_have_no_google_calendar(doubles, tmp_path, seeded):
    settings = _settings(doubles, _key_file(doubles, tmp_path))
    assert await GoogleCalendar.open(settings, "another-tenant") is None


async def test_two_calls_booking_one_slot_at_once_book_it_once(doubles, tmp_path, seeded):
    settings = _settings(doubles, _key_file(doubles, tmp_path))
    first, second = [await GoogleCalendar.open(settings, "default") for _ in range(2)]
    start = datetime(seeded.year, seeded.month, seeded.day, 14, tzinfo=NY)
    results = await asyncio.gather(
        first.book(start, "Jane", None, "call-1"),
        second.book(start, "Joe", None, "call-2"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Appointment", "SlotUnavailableError"]
    assert len(doubles.client.gcal()["events"][CAL]) == 1
    inserts = [r for r in doubles.client.gcal()["requests"] if r["path"].endswith("/events")]
    assert len(inserts) == 2  # both saw the slot free; the event id made the second one collide
