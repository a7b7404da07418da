"""Twilio call-status callbacks, kept in memory (bounded) until the storage issue persists them.

Use :func:`call_statuses` from other routes (e.g. the calls API) to read what Twilio reported:
``call_statuses(app).get(call_sid)`` or ``.for_call_id(call_id)``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

MAX_CALLS = 1000
MAX_HISTORY = 20

# Form fields worth keeping from a status callback (the rest is account noise).
_FIELDS = {
    "CallStatus": "status",
    "CallDuration": "duration",
    "Timestamp": "timestamp",
    "SequenceNumber": "sequence",
    "CallbackSource": "source",
    "Direction": "direction",
    "AnsweredBy": "answered_by",
    "SipResponseCode": "sip_response_code",
    "ErrorCode": "error_code",
}


class CallStatusStore:
    """The latest status and a short history per Twilio CallSid, for the most recent calls.

    Args:
        max_calls: CallSids kept; the least recently updated is forgotten first.
        max_history: Status events kept per call.
    """

    def __init__(self, max_calls: int = MAX_CALLS, max_history: int = MAX_HISTORY):
        self._calls: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._max_calls = max_calls
        self._max_history = max_history

    def _entry(self, call_sid: str) -> dict[str, Any]:
        entry = self._calls.get(call_sid)
        if entry is None:
            entry = {"call_sid": call_sid, "call_id": None, "status": None, "history": []}
            self._calls[call_sid] = entry
        self._calls.move_to_end(call_sid)
        while len(self._calls) > self._max_calls:
            self._calls.popitem(last=False)
        return entry

    def link(self, call_sid: str, call_id: str, **info: Any) -> None:
        """Remember which of our calls a CallSid is (voice webhook, outbound call)."""
        if call_sid:
            entry = self._entry(call_sid)
            entry["call_id"] = call_id
            entry.update({k: v for k, v in info.items() if v is not None})

    def pending_call_id(self, call_sid: str) -> str | None:
        """Our call id for a CallSid we already know (an outbound call being answered)."""
        entry = self._calls.get(call_sid) if call_sid else None
        return entry["call_id"] if entry else None

    def record(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Record one status callback.

        Callbacks may arrive out of order: ``status`` only moves forward by ``SequenceNumber``,
        every event still lands in ``history``.

        Args:
            form: The callback's form fields.

        Returns:
            The call's entry after the update.
        """
        entry = self._entry(str(form.get("CallSid") or ""))
        event = {key: form[name] for name, key in _FIELDS.items() if form.get(name)}
        event["received_at"] = time.time()
        history = entry["history"]
        history.append(event)
        del history[: -self._max_history]
        latest = _sequence(entry.get("sequence"))
        current = _sequence(event.get("sequence"))
        if latest is None or current is None or current >= latest:
            entry.update({k: v for k, v in event.items() if k != "received_at"})
            entry["updated_at"] = event["received_at"]
        return entry

    def get(self, call_sid: str) -> dict[str, Any] | None:
        """The entry for a CallSid, or None."""
        return self._calls.get(call_sid)

    def for_call_id(self, call_id: str) -> dict[str, Any] | None:
        """The entry for one of our call ids, or None."""
        return next((e for e in reversed(self._calls.values()) if e["call_id"] == call_id), None)

    def all(self) -> list[dict[str, Any]]:
        """Every entry, most recently updated first."""
        return list(reversed(self._calls.values()))


def _sequence(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def call_statuses(app: FastAPI) -> CallStatusStore:
    """The app's status store (created on first use)."""
    store = getattr(app.state, "twilio_call_statuses", None)
    if store is None:
        store = app.state.twilio_call_statuses = CallStatusStore()
    return store
