"""The receptionist's booking tools, against the call's :class:`~tools.calendar.Calendar`."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import date, datetime, time
from typing import Any

from pipecat.services.llm_service import FunctionCallParams

from tools.calendar import BusinessHours, Calendar, SlotUnavailableError, StorageCalendar
from tools.email_tools import remember_booking
from tools.google_calendar import GoogleCalendar

MAX_TIMES_SAID = 8  # a spoken answer lists a few times, not a whole day


async def calendar_for(params: FunctionCallParams) -> tuple[Calendar, Any]:
    """The call's calendar and call.

    ``resources["calendar"]`` if set; else the tenant's Google Calendar when
    ``GOOGLE_CALENDAR_TENANTS`` lists the tenant (opened once per call, then kept in the
    resources); else the storage-backed calendar (the default).
    """
    resources = params.app_resources or {}
    call = resources.get("call")
    calendar = resources.get("calendar")
    if calendar is not None:
        return calendar, call
    settings = resources.get("settings")
    tenant = call.ctx.tenant if call is not None else "default"
    if tenant in (getattr(settings, "google_calendar_tenants", None) or {}):
        calendar = await GoogleCalendar.open(settings, tenant)
        if isinstance(resources, MutableMapping):
            resources["calendar"] = calendar
        return calendar, call
    storage = resources.get("storage")
    if storage is None:
        raise RuntimeError("no calendar or storage on this call")
    hours = BusinessHours.from_settings(settings) if settings is not None else None
    return StorageCalendar(storage, tenant, hours), call


def _day(value: str) -> date:
    return date.fromisoformat(value)


async def check_availability(params: FunctionCallParams, date: str) -> None:
    """Find the free appointment times on a day.

    Args:
        date: The day, as YYYY-MM-DD.
    """
    calendar, _ = await calendar_for(params)
    try:
        day = _day(date)
    except ValueError:
        await params.result_callback({"error": "the date must be YYYY-MM-DD"})
        return
    free = await calendar.free_slots(day)
    await params.result_callback(
        {
            "today": datetime.now(calendar.tz).date().isoformat(),
            "date": day.isoformat(),
            "weekday": day.strftime("%A"),
            "available_times": [s.strftime("%H:%M") for s in free[:MAX_TIMES_SAID]],
            "more_available": len(free) > MAX_TIMES_SAID,
        }
    )


async def book_appointment(
    params: FunctionCallParams, date: str, time: str, name: str, phone: str
) -> None:
    """Book an appointment once the caller has chosen a free time.

    Args:
        date: The day, as YYYY-MM-DD.
        time: The start time, as HH:MM (24-hour clock).
        name: The caller's name.
        phone: The caller's phone number.
    """
    calendar, call = await calendar_for(params)
    try:
        day, at = _day(date), _clock(time)
    except ValueError:
        await params.result_callback({"error": "the date must be YYYY-MM-DD and the time HH:MM"})
        return
    start = datetime.combine(day, at, calendar.tz)
    try:
        appointment = await calendar.book(
            start, name, phone, call.ctx.call_id if call is not None else None
        )
    except SlotUnavailableError as exc:
        free = await calendar.free_slots(day)
        await params.result_callback(
            {
                "error": str(exc),
                "available_times": [s.strftime("%H:%M") for s in free[:MAX_TIMES_SAID]],
            }
        )
        return
    remember_booking(params, appointment)  # for send_booking_confirmation
    await params.result_callback(
        {
            "status": "booked",
            "appointment_id": appointment.id,
            "date": day.isoformat(),
            "time": at.strftime("%H:%M"),
        }
    )


def _clock(value: str) -> time:
    return time.fromisoformat(value)
