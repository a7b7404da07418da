"""The storage contract: records and the async interface every backend implements.

Storage imports nothing of ours but config. Backends: ``storage.sqlite`` (embedded default, a
WAL-mode file under ``DATA_DIR``) and ``storage.supabase`` (supabase-py with a service key).
Both pass the same contract tests (``tests/storage``). Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A fresh id such as ``msg_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class Record(BaseModel):
    """Base for stored rows: unknown columns are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class AgentConfig(Record):
    """A tenant's configuration of a persona; a row overrides the persona file at call start.

    ``None`` fields keep the persona file's value.
    """

    tenant: str
    persona: str
    prompt: str | None = None
    greeting: str | None = None
    voice_id: str | None = None
    voice_settings: dict[str, Any] = Field(default_factory=dict)
    providers: dict[str, Any] = Field(default_factory=dict)  # {"stt": {...}, "llm":..., "tts":...}
    tools: list[dict[str, Any]] = Field(default_factory=list)  # declarative webhook tools
    webhook_urls: list[str] = Field(default_factory=list)
    recording: bool | None = None
    turns: dict[str, Any] = Field(default_factory=dict)  # TurnSettings fields to change
    enabled: bool = True
    updated_at: datetime = Field(default_factory=now)


CallStatus = Literal["active", "ended", "failed"]


class CallRecord(Record):
    """One call, from start to outcome."""

    id: str
    tenant: str = "default"
    persona: str
    transport: str
    room: str | None = None
    caller_number: str | None = None
    called_number: str | None = None
    caller_key: str | None = None  # user id or phone number: who the caller is (memory, deletion)
    started_at: datetime = Field(default_factory=now)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    duration_secs: float | None = None
    cost: dict[str, Any] | None = None  # {"total": 0.0123, "currency": "USD", "items": {...}}
    status: CallStatus = "active"
    recording_url: str | None = None
    analysis: dict[str, Any] | None = None  # post-call outcome
    latency: dict[str, Any] | None = None  # per-call p50/p95 per stage, written at the end
    metadata: dict[str, Any] = Field(default_factory=dict)


class TranscriptTurn(Record):
    """One spoken turn, written when it happens."""

    call_id: str
    seq: int
    role: Literal["user", "assistant", "tool"]
    text: str
    started_at: datetime = Field(default_factory=now)
    ended_at: datetime | None = None
    interrupted: bool = False


class TurnMetrics(Record):
    """Where one turn's voice-to-voice time went, in milliseconds (None: stage absent)."""

    call_id: str
    turn: int
    end_of_turn_ms: float | None = None
    stt_ms: float | None = None
    llm_ms: float | None = None
    tts_ms: float | None = None
    own_ms: float | None = None
    tool_ms: float | None = None
    total_ms: float | None = None
    created_at: datetime = Field(default_factory=now)


class Memory(Record):
    """Something worth remembering about a caller."""

    id: str = Field(default_factory=lambda: new_id("mem"))
    tenant: str = "default"
    caller_key: str
    text: str
    source_call_id: str | None = None
    created_at: datetime = Field(default_factory=now)


class Appointment(Record):
    """A booked slot in the calendar."""

    id: str = Field(default_factory=lambda: new_id("apt"))
    tenant: str = "default"
    starts_at: datetime
    ends_at: datetime
    name: str
    phone: str | None = None
    notes: str | None = None
    call_id: str | None = None
    created_at: datetime = Field(default_factory=now)


class Message(Record):
    """A message or voicemail the caller left."""

    id: str = Field(default_factory=lambda: new_id("msg"))
    tenant: str = "default"
    call_id: str | None = None
    kind: Literal["message", "voicemail"] = "message"
    caller_number: str | None = None
    name: str | None = None
    text: str
    recording_url: str | None = None
    created_at: datetime = Field(default_factory=now)


class Callback(Record):
    """A callback the caller asked for."""

    id: str = Field(default_factory=lambda: new_id("cb"))
    tenant: str = "default"
    call_id: str | None = None
    phone: str
    name: str | None = None
    preferred_time: str | None = None  # as the caller said it ("tomorrow morning")
    reason: str | None = None
    status: Literal["pending", "done", "cancelled"] = "pending"
    created_at: datetime = Field(default_factory=now)


class Recording(Record):
    """A call's recording (stereo WAV: caller left, bot right)."""

    call_id: str
    url: str  # file path (SQLite) or storage URL (Supabase)
    channels: int = 2
    sample_rate: int
    duration_secs: float
    bytes: int
    created_at: datetime = Field(default_factory=now)


OutboxStatus = Literal["pending", "delivered", "failed"]


class OutboxEvent(Record):
    """A webhook event waiting for (or done with) delivery; at least once, retried, durable."""

    id: str = Field(default_factory=lambda: new_id("evt"))  # the event id receivers dedup on
    tenant: str = "default"
    call_id: str | None = None  # the call it is about (deletion); taken from payload if unset
    type: str  # call.started | call.ended | recording.ready
    url: str
    payload: dict[str, Any]
    status: OutboxStatus = "pending"
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=now)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=now)
    delivered_at: datetime | None = None


class Storage(ABC):
    """Async storage. Every method is safe to call concurrently from many calls."""

    # --- lifecycle ---------------------------------------------------------------------------
    @abstractmethod
    async def open(self) -> None:
        """Connect (SQLite: create the file and apply migrations)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # --- tenant configuration ------------------------------------------------------------------
    @abstractmethod
    async def get_agent_config(self, tenant: str, persona: str) -> AgentConfig | None:
        """The row for (tenant, persona), or None.

        A disabled row is returned too (``enabled=False``): the runner refuses such calls
        instead of silently falling back to the persona file.
        """

    @abstractmethod
    async def put_agent_config(self, config: AgentConfig) -> None:
        """Insert or replace the row for (tenant, persona)."""

    @abstractmethod
    async def list_agent_configs(self, tenant: str | None = None) -> list[AgentConfig]:
        """Every row (or one tenant's), disabled ones too, by tenant then persona."""

    @abstractmethod
    async def delete_agent_config(self, tenant: str, persona: str) -> bool:
        """Delete the row for (tenant, persona); whether there was one."""

    # --- calls -------------------------------------------------------------------------------
    @abstractmethod
    async def create_call(self, call: CallRecord) -> None:
        """Insert a new call."""

    @abstractmethod
    async def update_call(self, call_id: str, **fields: Any) -> None:
        """Set some columns of a call (names as in :class:`CallRecord`).

        Raises:
            KeyError: No such call.
            ValueError: An unknown column name.
        """

    @abstractmethod
    async def get_call(self, call_id: str) -> CallRecord | None:
        """One call, or None."""

    @abstractmethod
    async def list_calls(
        self, tenant: str | None = None, limit: int = 100, status: CallStatus | None = None
    ) -> list[CallRecord]:
        """Most recent first (optionally only one tenant's, or only ``status``)."""

    # --- transcript and metrics --------------------------------------------------------------
    @abstractmethod
    async def add_turn(self, turn: TranscriptTurn) -> None:
        """Append a transcript turn.

        Raises:
            ValueError: (call_id, seq) is already stored.
            KeyError: No such call (create the call first).
        """

    @abstractmethod
    async def list_turns(self, call_id: str) -> list[TranscriptTurn]:
        """A call's turns in order."""

    @abstractmethod
    async def add_turn_metrics(self, metrics: TurnMetrics) -> None:
        """Append one turn's stage latencies (KeyError: no such call)."""

    @abstractmethod
    async def list_turn_metrics(self, call_id: str) -> list[TurnMetrics]:
        """A call's turn metrics in order."""

    # --- memories ----------------------------------------------------------------------------
    @abstractmethod
    async def add_memory(self, memory: Memory) -> None:
        """Store a memory."""

    @abstractmethod
    async def search_memories(
        self, tenant: str, caller_key: str, query: str, limit: int = 5
    ) -> list[Memory]:
        """The caller's memories most relevant to ``query`` (full-text rank), best first.

        An empty or unmatched query returns the caller's most recent memories.
        """

    @abstractmethod
    async def list_memories(self, tenant: str, caller_key: str) -> list[Memory]:
        """All of a caller's memories, newest first."""

    # --- tools -------------------------------------------------------------------------------
    @abstractmethod
    async def add_appointment(self, appointment: Appointment) -> None:
        """Book a slot.

        Raises:
            ValueError: It overlaps an existing appointment of the same tenant.
        """

    @abstractmethod
    async def list_appointments(
        self, tenant: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """Appointments overlapping [start, end), by start time."""

    @abstractmethod
    async def add_message(self, message: Message) -> None:
        """Store a message or voicemail."""

    @abstractmethod
    async def list_messages(self, tenant: str, limit: int = 100) -> list[Message]:
        """Most recent first."""

    @abstractmethod
    async def add_callback(self, callback: Callback) -> None:
        """Store a callback request."""

    @abstractmethod
    async def list_callbacks(self, tenant: str, limit: int = 100) -> list[Callback]:
        """Most recent first."""

    # --- recordings --------------------------------------------------------------------------
    @abstractmethod
    async def add_recording(self, recording: Recording) -> None:
        """Store a recording row (one per call: a second one replaces it; KeyError: no call)."""

    @abstractmethod
    async def get_recording(self, call_id: str) -> Recording | None:
        """A call's recording, or None."""

    @abstractmethod
    async def upload_recording(self, call_id: str, path: str) -> str:
        """Put a finished WAV where the backend keeps recordings; return its path or URL.

        SQLite keeps the local path; Supabase uploads to Storage and returns the object URL.
        """

    # --- webhook outbox ----------------------------------------------------------------------
    @abstractmethod
    async def enqueue_event(self, event: OutboxEvent) -> None:
        """Add an event to the outbox (idempotent on ``event.id``)."""

    @abstractmethod
    async def due_events(self, at: datetime, limit: int = 50) -> list[OutboxEvent]:
        """Pending events whose ``next_attempt_at`` <= ``at``, oldest first."""

    @abstractmethod
    async def mark_delivered(self, event_id: str) -> None:
        """The receiver accepted the event (KeyError: no such event)."""

    @abstractmethod
    async def mark_attempt_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Count a failed attempt; ``None`` for ``next_attempt_at`` gives up (status failed).

        Raises:
            KeyError: No such event.
        """

    @abstractmethod
    async def list_events(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        """Outbox events, newest first (delivery status is visible)."""

    @abstractmethod
    async def count_events(self, status: OutboxStatus | None = None) -> int:
        """How many outbox events there are (with ``status``), without reading them."""

    # --- personal data -----------------------------------------------------------------------
    @abstractmethod
    async def purge_older_than(self, cutoff: datetime) -> dict[str, int]:
        """Delete everything created before ``cutoff``; return counts per table.

        That is calls (with their turns, metrics, recordings, messages, callbacks), memories,
        appointments that ended before ``cutoff``, and delivered or failed outbox events. Keys:
        the table names, plus ``recording_files`` (files or Storage objects removed).
        """

    @abstractmethod
    async def delete_caller(self, tenant: str, caller: str) -> dict[str, int]:
        """Delete everything about one caller; return counts per table.

        ``caller`` is a phone number or caller key. That is their calls and everything hanging
        off them, memories, messages, callbacks, appointments and outbox events of those calls.
        Keys as in :meth:`purge_older_than`.
        """
