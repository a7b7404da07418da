"""The calendar seam behind ``check_availability`` and ``book_appointment``.

:class:`Calendar` is what the scheduling tools need; :class:`StorageCalendar` is the default,
backed by the ``appointments`` table of our storage, with business hours and a slot length.
Another calendar is another class with the same members: :class:`tools.google_calendar.
GoogleCalendar` for tenants listed in ``GOOGLE_CALENDAR_TENANTS`` (chosen by
``tools.appointments.calendar_for``), or any object put in the call's resources under
``"calendar"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from config import Settings
from storage.base import Appointment, Storage, now


class SlotUnavailableError(ValueError):
    """The requested time is outside business hours, in the past, or already booked."""


class Calendar(Protocol):
    """What the scheduling tools need from a calendar."""

    @property
    def tz(self) -> tzinfo:
        """The business's timezone: what the caller means by "2 pm"."""
        ...

    async def free_slots(self, day: date) -> list[datetime]:
        """Bookable slot starts on ``day`` (timezone-aware, in the business's timezone)."""
        ...

    async def book(
        self, start: datetime, name: str, phone: str | None, call_id: str | None
    ) -> Appointment:
        """Book the slot starting at ``start``.

        Raises:
            SlotUnavailableError: The slot cannot be booked.
        """
        ...


@dataclass(frozen=True)
class BusinessHours:
    """When appointments can be booked.

    Attributes:
        opens: First slot start of a day.
        closes: No slot ends after this.
        weekdays: Open days, Monday = 0.
        slot_minutes: Length of one appointment.
        timezone: The business's timezone (what the caller means by "2 pm").
    """

    opens: time = time(9, 0)
    closes: time = time(17, 0)
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    slot_minutes: int = 30
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessHours:
        """Read ``CALENDAR_*`` settings (opening hours, days, slot length, timezone)."""
        opens, closes = (time.fromisoformat(p.strip()) for p in settings.calendar_hours.split("-"))
        days = frozenset(int(d) for d in str(settings.calendar_weekdays).split(",") if d.strip())
        return cls(opens, closes, days, settings.calendar_slot_minutes, settings.calendar_timezone)

    @property
    def tz(self) -> ZoneInfo:
        """The timezone object."""
        return ZoneInfo(self.timezone)

    def slots(self, day: date) -> list[datetime]:
        """Every slot start of ``day`` within business hours."""
        if day.weekday() not in self.weekdays:
            return []
        step = timedelta(minutes=self.slot_minutes)
        start = datetime.combine(day, self.opens, self.tz)
        end = datetime.combine(day, self.closes, self.tz)
        out = []
        while start + step <= end:
            out.append(start)
            start += step
        return out


class StorageCalendar:
    """The default calendar: appointments in our storage, slots from business hours."""

    def __init__(
        self, storage: Storage, tenant: str = "default", hours: BusinessHours | None = None
    ):
        self.storage = storage
        self.tenant = tenant
        self.hours = hours or BusinessHours()

    @property
    def tz(self) -> tzinfo:
        """The business's timezone."""
        return self.hours.tz

    async def free_slots(self, day: date) -> list[datetime]:
        """Slot starts of ``day`` that are in the future and overlap no appointment."""
        slots = self.hours.slots(day)
        if not slots:
            return []
        step = timedelta(minutes=self.hours.slot_minutes)
        booked = await self.storage.list_appointments(self.tenant, slots[0], slots[-1] + step)
        current = now()
        return [
            s
            for s in slots
            if s > current and not any(a.starts_at < s + step and a.ends_at > s for a in booked)
        ]

    async def book(
        self, start: datetime, name: str, phone: str | None, call_id: str | None
    ) -> Appointment:
        """Book ``start`` if it is a free slot (storage refuses overlaps too)."""
        if start not in await self.free_slots(start.date()):
            raise SlotUnavailableError("that time is not available")
        appointment = Appointment(
            tenant=self.tenant,
            starts_at=start,
            ends_at=start + timedelta(minutes=self.hours.slot_minutes),
            name=name,
            phone=phone,
            call_id=call_id,
        )
        try:
            await self.storage.add_appointment(appointment)
        except ValueError as exc:  # booked by someone else in the meantime
            raise SlotUnavailableError("that time was just booked") from exc
        return appointment
