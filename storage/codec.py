"""Turning records into rows and back, shared by the backends.

SQLite keeps JSON as TEXT and times as fixed-width ISO-8601 UTC text (so text order is time
order); PostgREST takes JSON objects and ISO-8601 strings. Both read rows back through the
record models, which parse the strings again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from storage.base import CallRecord, Record

R = TypeVar("R", bound=Record)

JSON_COLUMNS = frozenset(
    {
        "voice_settings",
        "providers",
        "tools",
        "webhook_urls",
        "turns",
        "cost",
        "analysis",
        "latency",
        "metadata",
        "payload",
    }
)


def iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC text (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any, json_text: bool, column: str) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if json_text and column in JSON_COLUMNS and value is not None:
        return json.dumps(value, separators=(",", ":"), default=str)
    if json_text and isinstance(value, bool):
        return int(value)
    return value


def to_row(record: Record, json_text: bool) -> dict[str, Any]:
    """A record as a row: times as text; JSON as text (SQLite) or as objects (PostgREST)."""
    return {
        name: _plain(value, json_text, name)
        for name, value in record.model_dump(mode="python").items()
    }


def from_row(model: type[R], row: dict[str, Any]) -> R:
    """A record from a row, decoding JSON text where the backend stores text."""
    values = {}
    for name, value in row.items():
        if name not in model.model_fields:
            continue  # backend-only columns (rowids, search vectors)
        if name in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        values[name] = value
    return model.model_validate(values)


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(CallRecord.model_fields[name].annotation)


def call_fields(fields: dict[str, Any], json_text: bool) -> dict[str, Any]:
    """Validate an ``update_call`` and encode its values as columns.

    Raises:
        ValueError: An unknown column, the id, or a value of the wrong type.
    """
    if not fields:
        raise ValueError("update_call needs at least one column")
    columns = {}
    for name, value in fields.items():
        if name == "id" or name not in CallRecord.model_fields:
            raise ValueError(f"unknown call column: {name!r}")
        try:
            checked = _adapter(name).validate_python(value)
        except ValidationError as exc:
            raise ValueError(f"bad value for call column {name!r}: {exc}") from exc
        if isinstance(checked, Record):
            checked = checked.model_dump(mode="python")
        columns[name] = _plain(checked, json_text, name)
    return columns


_WORD = re.compile(r"\w+", re.UNICODE)
# Words that say nothing about a memory. FTS5 has no stop words of its own, so without this
# "what is my dog called" ranks a short "Is allergic to peanuts" first (on "is").
STOP_WORDS = frozenset(
    """a about am an and any are as at be been but by can could did do does for from had has
    have he her him his how i if in is it its me my no not of on or our she so than that the
    their them then there they this to us was we were what when where which who why will with
    would you your""".split()
)


def search_words(query: str, limit: int = 32) -> list[str]:
    """The words of a search query: lower-cased, no stop words, de-duplicated, in order.

    Only word characters survive, so no search operator from the query reaches the engine.
    """
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in STOP_WORDS and word not in seen and len(seen) < limit:
            seen[word] = None
    return list(seen)
