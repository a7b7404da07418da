"""Google Calendar behind the :class:`~tools.calendar.Calendar` seam (Calendar API v3).

- Auth: the service account's key file (``GOOGLE_CALENDAR_CREDENTIALS_FILE``); an RS256 JWT
  is exchanged at the key's ``token_uri`` for an access token (cached per process until a
  minute before it expires).
- Free slots: the tenant's business hours minus ``freeBusy`` busy times and the past.
- Booking: ``events.insert`` after a fresh free/busy check (Google itself accepts overlapping
  events). The event id is derived from the calendar and the start, so two calls booking the
  same slot at once collide (409) instead of double-booking; a 409 for a slot that is free
  again (its event was cancelled) books with an id Google picks.
- Timezone: the tenant's ``timezone``, else the calendar's own ``timeZone``.

Which tenants use it: ``GOOGLE_CALENDAR_TENANTS`` (see ``config.calendars``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from config import Settings
from config.calendars import GoogleCalendarTenant
from storage.base import Appointment, now
from tools.calendar import BusinessHours, SlotUnavailableError

SCOPE = "https://www.googleapis.com/auth/calendar"
TIMEOUT_SECS = 10.0
_TOKENS: dict[str, tuple[str, float]] = {}  # key file -> (access token, monotonic expiry)


class GoogleCalendarError(RuntimeError):
    """Google refused a request or could not be reached (no secrets in the message)."""


async def access_token(key_file: str) -> str:
    """An access token for the service account of ``key_file`` (cached until near expiry).

    Raises:
        GoogleCalendarError: The key file is unreadable, or the token endpoint refused it.
    """
    cached = _TOKENS.get(key_file)
    if cached is not None and cached[1] > time.monotonic() + 60:
        return cached[0]
    try:
        key = json.loads(Path(key_file).read_text())
        issued = int(time.time())
        claims = {
            "iss": key["client_email"],
            "scope": SCOPE,
            "aud": key["token_uri"],
            "iat": issued,
            "exp": issued + 3600,
        }
        assertion = jwt.encode(
            claims, key["private_key"], "RS256", headers={"kid": key.get("private_key_id")}
        )
    except (OSError, ValueError, KeyError) as exc:
        raise GoogleCalendarError(f"the service account key is unusable ({exc!r:.80})") from None
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECS) as client:
            resp = await client.post(key["token_uri"], data=form)
    except httpx.HTTPError as exc:
        raise GoogleCalendarError(f"Google could not be reached ({type(exc).__name__})") from None
    if resp.status_code != 200:
        raise GoogleCalendarError(f"Google refused the service account (HTTP {resp.status_code})")
    body = resp.json()
    _TOKENS[key_file] = (body["access_token"], time.monotonic() + float(body["expires_in"]))
    return body["access_token"]


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def event_id(calendar_id: str, start: datetime) -> str:
    """A Google event id (base32hex, lower case) unique to the calendar and the slot start."""
    digest = hashlib.sha256(f"{calendar_id}|{start.astimezone(UTC).isoformat()}".encode()).digest()
    return base64.b32hexencode(digest[:20]).decode().lower()


class GoogleCalendar:
    """A tenant's Google calendar; build it with :meth:`open`."""

    def __init__(
        self, settings: Settings, tenant: str, config: GoogleCalendarTenant, hours: BusinessHours
    ) -> None:
        self.settings = settings
        self.tenant = tenant
        self.calendar_id = config.calendar_id
        self.hours = hours
        self._base = settings.google_calendar_api_url.rstrip("/")

    @classmethod
    async def open(cls, settings: Settings, tenant: str) -> GoogleCalendar | None:
        """The tenant's Google calendar, or None when the tenant has none configured.

        Raises:
            GoogleCalendarError: The calendar or its timezone cannot be read.
        """
        config = settings.google_calendar_tenants.get(tenant)
        if config is None:
            return None
        if not settings.google_calendar_credentials_file:
            raise GoogleCalendarError("GOOGLE_CALENDAR_CREDENTIALS_FILE is not set")
        hours = BusinessHours.from_settings(_HoursView(settings, config))
        calendar = cls(settings, tenant, config, hours)
        zone = config.timezone or (await calendar._request("GET", calendar._path()))["timeZone"]
        calendar.hours = replace(calendar.hours, timezone=zone)
        return calendar

    @property
    def tz(self) -> tzinfo:
        """The business's timezone."""
        return self.hours.tz

    def _path(self, suffix: str = "") -> str:
        return f"/calendars/{quote(self.calendar_id, safe='')}{suffix}"

    async def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        token = await access_token(self.settings.google_calendar_credentials_file)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECS) as client:
                resp = await client.request(method, self._base + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise GoogleCalendarError(
                f"Google Calendar unreachable ({type(exc).__name__})"
            ) from None
        if resp.status_code == 409:
            raise _DuplicateEventError()
        if resp.status_code >= 300:
            raise GoogleCalendarError(f"Google Calendar refused {method} (HTTP {resp.status_code})")
        return resp.json()

    async def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Busy spans of the calendar between ``start`` and ``end`` (``freeBusy.query``)."""
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "timeZone": self.hours.timezone,
            "items": [{"id": self.calendar_id}],
        }
        answer = (await self._request("POST", "/freeBusy", body))["calendars"][self.calendar_id]
        if answer.get("errors"):
            reason = answer["errors"][0].get("reason", "error")
            raise GoogleCalendarError(f"Google Calendar cannot read the calendar ({reason})")
        return [(_parse(b["start"]), _parse(b["end"])) for b in answer.get("busy", [])]

    async def free_slots(self, day: date) -> list[datetime]:
        """Slot starts of ``day`` in business hours, in the future, overlapping nothing busy."""
        slots = self.hours.slots(day)
        if not slots:
            return []
        step = timedelta(minutes=self.hours.slot_minutes)
        busy = await self.busy(slots[0], slots[-1] + step)
        current = now()
        return [
            s for s in slots if s > current and not any(b0 < s + step and b1 > s for b0, b1 in busy)
        ]

    async def book(
        self, start: datetime, name: str, phone: str | None, call_id: str | None
    ) -> Appointment:
        """Insert the event for ``start`` if the slot is free.

        Raises:
            SlotUnavailableError: Outside business hours, past, or busy in the calendar.
        """
        if start not in await self.free_slots(start.date()):
            raise SlotUnavailableError("that time is not available")
        end = start + timedelta(minutes=self.hours.slot_minutes)
        event = {
            "id": event_id(self.calendar_id, start),
            "summary": f"Appointment: {name}",
            "description": f"Phone: {phone or '-'}\nBooked by phone (call {call_id or '-'}).",
            "start": {"dateTime": _rfc3339(start), "timeZone": self.hours.timezone},
            "end": {"dateTime": _rfc3339(end), "timeZone": self.hours.timezone},
        }
        try:
            created = await self._request("POST", self._path("/events"), event)
        except _DuplicateEventError:
            if start not in await self.free_slots(start.date()):  # booked meanwhile
                raise SlotUnavailableError("that time was just booked") from None
            event.pop("id")  # the old event of that id was cancelled: let Google pick one
            created = await self._request("POST", self._path("/events"), event)
        return Appointment(
            id=created["id"],
            tenant=self.tenant,
            starts_at=start,
            ends_at=end,
            name=name,
            phone=phone,
            call_id=call_id,
        )


class _DuplicateEventError(GoogleCalendarError):
    """409: an event with that id exists (the slot was booked, or booked then cancelled)."""

    def __init__(self) -> None:
        super().__init__("an event with that id already exists")


class _HoursView:
    """The ``CALENDAR_*`` view of a tenant's hours, for :meth:`BusinessHours.from_settings`."""

    def __init__(self, settings: Settings, config: GoogleCalendarTenant) -> None:
        self.calendar_hours = config.hours or settings.calendar_hours
        self.calendar_weekdays = config.weekdays or settings.calendar_weekdays
        self.calendar_slot_minutes = config.slot_minutes or settings.calendar_slot_minutes
        self.calendar_timezone = settings.calendar_timezone
