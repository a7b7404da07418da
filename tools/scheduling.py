"""The receptionist's booking tools, against the call's :class:`~tools.calendar.Calendar`."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pipecat.services.llm_service import FunctionCallParams

from tools.calendar import BusinessHours, Calendar, SlotUnavailableError, StorageCalendar

MAX_TIMES_SAID = 8  # a spoken answer lists a few times, not a whole day


def calendar_for(params: FunctionCallParams) -> tuple[Calendar, Any]:
    """The call's calendar (``resources["calendar"]``, else the storage calendar) and call."""
    resources = params.app_resources or {}
    call = resources.get("call")
    calendar = resources.get("calendar")
    if calendar is None:
        storage = resources.get("storage")
        if storage is None:
            raise RuntimeError("no calendar or storage on this call")
        settings = resources.get("settings")
        hours = BusinessHours.from_settings(settings) if settings is not None else None
        tenant = call.ctx.tenant if call is not None else "default"
        calendar = StorageCalendar(storage, tenant, hours)
    return calendar, call


def _day(value: str) -> date:
    return date.fromisoformat(value)


async def check_availability(params: FunctionCallParams, date: str) -> None:
    """Find the free appointment times on a day.

    Args:
        date: The day, as YYYY-MM-DD.
    """
    calendar, _ = calendar_for(params)
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
    calendar, call = calendar_for(params)
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
