"""What a call knows about itself: who is calling, on which transport, with what metadata."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from transports.kinds import TransportKind

# A call id names files and URLs: letters, digits, "_" and "-" only, so it can never be a path.
CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_call_id() -> str:
    """A fresh call id (URL-safe, sortable enough for logs)."""
    return f"call_{uuid.uuid4().hex[:20]}"


class CallContext(BaseModel):
    """Everything the assembly and processors know about one call.

    Attributes:
        call_id: Our id for the call (logs, storage, API).
        persona: The persona's name.
        transport: Which transport carries the call.
        caller_number: The caller's phone number, when there is one.
        called_number: The number that was dialled, when there is one.
        user_id: A stable id for the user (app login, or the phone number).
        user_name: The caller's name, when known (used in greetings).
        tenant: The tenant whose configuration applies.
        room: Room name for SFU transports.
        provider_call_id: The provider's id for the call (Twilio CallSid, ...).
        metadata: Free-form call metadata from the app or webhook (e.g. coach scenario).
    """

    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(default_factory=new_call_id)
    persona: str
    transport: TransportKind
    caller_number: str | None = None
    called_number: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    tenant: str = "default"
    room: str | None = None
    provider_call_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("call_id")
    @classmethod
    def _safe_call_id(cls, value: str) -> str:
        if not CALL_ID.fullmatch(value):
            raise ValueError(f"call id {value[:80]!r} is not 1-64 letters, digits, '_' or '-'")
        return value

    @property
    def caller_key(self) -> str | None:
        """Who the caller is for memory: the user id, else the phone number."""
        return self.user_id or self.caller_number

    def template_values(self) -> dict[str, str]:
        """Plain string values a greeting or prompt template may use."""
        values = {k: str(v) for k, v in self.metadata.items() if isinstance(v, str | int | float)}
        for key in ("caller_number", "called_number", "user_id", "user_name", "tenant"):
            value = getattr(self, key)
            if value:
                values[key] = str(value)
        return values
