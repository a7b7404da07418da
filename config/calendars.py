"""Per-tenant Google Calendar configuration (``GOOGLE_CALENDAR_TENANTS``).

One service account (``GOOGLE_CALENDAR_CREDENTIALS_FILE``) serves every tenant: each business
shares its calendar with the service account's ``client_email`` ("Make changes to events"),
and ``GOOGLE_CALENDAR_TENANTS`` maps the tenant to that calendar, as JSON::

    {"default": {"calendar_id": "bookings@brightsmile.example"},
     "acme": {"calendar_id": "c_123@group.calendar.google.com", "timezone": "Europe/Paris",
              "hours": "08:00-18:00", "weekdays": "0,1,2,3,4,5", "slot_minutes": 45}}

A tenant not listed keeps the storage-backed calendar (the default).
"""

from __future__ import annotations

import json
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode


class GoogleCalendarTenant(BaseModel):
    """One tenant's Google Calendar.

    Attributes:
        calendar_id: The calendar's id (``primary`` is the service account's own calendar).
        timezone: The business's timezone; None: the calendar's own ``timeZone``.
        hours: Bookable hours (``HH:MM-HH:MM``); None: ``CALENDAR_HOURS``.
        weekdays: Open days, Monday = 0 (``0,1,2``); None: ``CALENDAR_WEEKDAYS``.
        slot_minutes: Appointment length; None: ``CALENDAR_SLOT_MINUTES``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar_id: str = Field(min_length=1, max_length=1024)
    timezone: str | None = None
    hours: str | None = None
    weekdays: str | None = None
    slot_minutes: int | None = Field(default=None, ge=5, le=480)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (KeyError, ValueError):
                raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            opens, closes = (time.fromisoformat(p.strip()) for p in value.split("-"))
            if opens >= closes:
                raise ValueError("hours must be HH:MM-HH:MM, opening before closing")
        return value


def _parse_tenants(value: Any) -> Any:
    """JSON text (from the environment) to a dict; empty means no tenant."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        return json.loads(value)
    return value


GoogleCalendarTenants = Annotated[
    dict[str, GoogleCalendarTenant], NoDecode, BeforeValidator(_parse_tenants)
]
