"""The production backend: Supabase (PostgREST over PostgreSQL, plus Storage for recordings).

supabase-py's async client with the service-role key (server side only). The schema is
``supabase/migrations``; ranked memory search, failed delivery attempts and the personal-data
deletions are SQL functions called over RPC, so each is one round trip and one transaction.
PostgREST errors become the exceptions the SQLite backend raises: a unique, overlap, check or
unknown-column error is a ValueError, a missing parent call a KeyError.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from postgrest import APIError
from postgrest.types import CountMethod, ReturnMethod
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from config import Settings
from storage.base import (
    AgentConfig,
    Appointment,
    Callback,
    CallRecord,
    CallStatus,
    Memory,
    Message,
    OutboxEvent,
    OutboxStatus,
    Record,
    Recording,
    Storage,
    TranscriptTurn,
    TurnMetrics,
    now,
)
from storage.codec import call_fields, from_row, iso, search_words, to_row

R = TypeVar("R", bound=Record)
VALUE_ERRORS = {"23505", "23P01", "23514", "23502", "22P02", "22007", "42703", "PGRST204"}
MINIMAL, EXACT = ReturnMethod.minimal, CountMethod.exact


def _mapped(exc: APIError, what: str) -> Exception:
    """The contract's exception for a PostgREST error."""
    message = f"{what}: {exc.code} {exc.message}"
    if exc.code in VALUE_ERRORS:
        return ValueError(message)
    if exc.code == "23503":
        return KeyError(f"{what}: the call it refers to does not exist")
    return RuntimeError(message)


class SupabaseStorage(Storage):
    """Storage in a Supabase project.

    Args:
        settings: ``SUPABASE_URL``, ``SUPABASE_SERVICE_KEY`` and ``SUPABASE_RECORDINGS_BUCKET``.
    """

    def __init__(self, settings: Settings) -> None:
        self.url = (settings.supabase_url or "").rstrip("/")
        key = settings.supabase_service_key
        self._key = key.get_secret_value() if key else ""
        self.bucket = settings.supabase_recordings_bucket
        self._client: AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        """Create the client and check it can read the ``calls`` table.

        Raises:
            ValueError: ``SUPABASE_URL`` or ``SUPABASE_SERVICE_KEY`` is missing.
            RuntimeError: Supabase is unreachable, refuses the key, or is not migrated.
        """
        if not self.url or not self._key:
            raise ValueError("STORAGE_BACKEND=supabase needs SUPABASE_URL and SUPABASE_SERVICE_KEY")
        if self._client is not None:
            return
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(15.0), follow_redirects=True)
        options = AsyncClientOptions(
            auto_refresh_token=False, persist_session=False, httpx_client=self._http
        )
        self._client = await acreate_client(self.url, self._key, options=options)
        try:  # fail at start-up, not on the first call: wrong URL or key, schema not migrated
            await self.client.table("calls").select("id").limit(1).execute()
        except (APIError, httpx.HTTPError) as exc:
            await self.close()
            hint = " (run make migrate)" if getattr(exc, "code", "") == "PGRST205" else ""
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise RuntimeError(f"Supabase at {self.url} is not usable: {detail}{hint}") from exc

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.aclose()
        self._client, self._http = None, None

    @property
    def client(self) -> AsyncClient:
        """The open client."""
        if self._client is None:
            raise RuntimeError("storage is not open (await storage.open() first)")
        return self._client

    # --- helpers -----------------------------------------------------------------------------
    async def _response(self, query: Any, what: str) -> Any:
        try:
            return await query.execute()
        except APIError as exc:
            raise _mapped(exc, what) from exc

    async def _run(self, query: Any, what: str) -> Any:
        return (await self._response(query, what)).data

    async def _rpc(self, fn: str, args: dict[str, Any]) -> Any:
        return await self._run(self.client.rpc(fn, args), fn)

    async def _insert(self, table: str, record: Record) -> None:
        row = to_row(record, json_text=False)
        await self._run(self.client.table(table).insert(row, returning=MINIMAL), table)

    async def _rows(self, model: type[R], query: Any, what: str) -> list[R]:
        return [from_row(model, row) for row in await self._run(query, what)]

    # --- tenant configuration ------------------------------------------------------------------
    async def get_agent_config(self, tenant: str, persona: str) -> AgentConfig | None:
        """The row for (tenant, persona), enabled or not, or None."""
        query = self.client.table("agent_configs").select("*").eq("tenant", tenant)
        rows = await self._rows(AgentConfig, query.eq("persona", persona), "agent_configs")
        return rows[0] if rows else None

    async def put_agent_config(self, config: AgentConfig) -> None:
        """Insert or replace the row for (tenant, persona)."""
        row = to_row(config, json_text=False)
        query = self.client.table("agent_configs").upsert(
            row, on_conflict="tenant,persona", returning=MINIMAL
        )
        await self._run(query, "agent_configs")

    async def list_agent_configs(self, tenant: str | None = None) -> list[AgentConfig]:
        """Every row (or one tenant's), disabled ones too, by tenant then persona."""
        query = self.client.table("agent_configs").select("*")
        if tenant is not None:
            query = query.eq("tenant", tenant)
        query = query.order("tenant").order("persona")
        return await self._rows(AgentConfig, query, "agent_configs")

    async def delete_agent_config(self, tenant: str, persona: str) -> bool:
        """Delete the row for (tenant, persona); whether there was one."""
        query = self.client.table("agent_configs").delete().eq("tenant", tenant)
        return bool(await self._run(query.eq("persona", persona), "agent_configs"))

    # --- calls -------------------------------------------------------------------------------
    async def create_call(self, call: CallRecord) -> None:
        """Insert a new call (a duplicate id is a ValueError)."""
        await self._insert("calls", call)

    async def update_call(self, call_id: str, **fields: Any) -> None:
        """Set some columns of a call (KeyError: no such call; ValueError: unknown column)."""
        columns = call_fields(fields, json_text=False)
        query = self.client.table("calls").update(columns).eq("id", call_id)
        if not await self._run(query, "calls"):
            raise KeyError(f"no call {call_id!r}")

    async def get_call(self, call_id: str) -> CallRecord | None:
        """One call, or None."""
        query = self.client.table("calls").select("*").eq("id", call_id).limit(1)
        rows = await self._rows(CallRecord, query, "calls")
        return rows[0] if rows else None

    async def list_calls(
        self, tenant: str | None = None, limit: int = 100, status: CallStatus | None = None
    ) -> list[CallRecord]:
        """Most recent first (optionally only one tenant's, or only ``status``)."""
        query = self.client.table("calls").select("*")
        if tenant is not None:
            query = query.eq("tenant", tenant)
        if status is not None:
            query = query.eq("status", status)
        query = query.order("started_at", desc=True).order("id").limit(limit)
        return await self._rows(CallRecord, query, "calls")

    # --- transcript and metrics --------------------------------------------------------------
    async def add_turn(self, turn: TranscriptTurn) -> None:
        """Append a turn (ValueError: (call_id, seq) taken; KeyError: no such call)."""
        await self._insert("transcript_turns", turn)

    async def list_turns(self, call_id: str) -> list[TranscriptTurn]:
        """A call's turns in order."""
        query = self.client.table("transcript_turns").select("*").eq("call_id", call_id)
        return await self._rows(TranscriptTurn, query.order("seq"), "transcript_turns")

    async def add_turn_metrics(self, metrics: TurnMetrics) -> None:
        """Append one turn's stage latencies (KeyError: no such call)."""
        await self._insert("turn_metrics", metrics)

    async def list_turn_metrics(self, call_id: str) -> list[TurnMetrics]:
        """A call's turn metrics in order."""
        query = self.client.table("turn_metrics").select("*").eq("call_id", call_id)
        return await self._rows(TurnMetrics, query.order("turn").order("id"), "turn_metrics")

    # --- memories ----------------------------------------------------------------------------
    async def add_memory(self, memory: Memory) -> None:
        """Store a memory (a duplicate id is a ValueError)."""
        await self._insert("memories", memory)

    async def search_memories(
        self, tenant: str, caller_key: str, query: str, limit: int = 5
    ) -> list[Memory]:
        """The caller's memories ranked by ``ts_rank``; recent ones if none match."""
        words = search_words(query)
        if words:
            args = {
                "p_tenant": tenant,
                "p_caller_key": caller_key,
                "p_words": words,
                "p_limit": limit,
            }
            found = await self._rpc("search_memories", args)
            if found:
                return [from_row(Memory, row) for row in found]
        return await self.list_memories(tenant, caller_key, limit=limit)

    async def list_memories(
        self, tenant: str, caller_key: str, limit: int | None = None
    ) -> list[Memory]:
        """All of a caller's memories (or the ``limit`` newest), newest first."""
        query = (
            self.client.table("memories")
            .select("*")
            .eq("tenant", tenant)
            .eq("caller_key", caller_key)
            .order("created_at", desc=True)
        )
        if limit is not None:
            query = query.limit(limit)
        return await self._rows(Memory, query, "memories")

    # --- tools -------------------------------------------------------------------------------
    async def add_appointment(self, appointment: Appointment) -> None:
        """Book a slot (ValueError: it overlaps one of the same tenant, or ends before start)."""
        if appointment.ends_at <= appointment.starts_at:
            raise ValueError("an appointment must end after it starts")
        await self._insert("appointments", appointment)

    async def list_appointments(
        self, tenant: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """Appointments overlapping [start, end), by start time."""
        query = (
            self.client.table("appointments")
            .select("*")
            .eq("tenant", tenant)
            .lt("starts_at", iso(end))
            .gt("ends_at", iso(start))
            .order("starts_at")
        )
        return await self._rows(Appointment, query, "appointments")

    async def add_message(self, message: Message) -> None:
        """Store a message or voicemail."""
        await self._insert("messages", message)

    async def list_messages(self, tenant: str, limit: int = 100) -> list[Message]:
        """Most recent first."""
        query = self.client.table("messages").select("*").eq("tenant", tenant)
        query = query.order("created_at", desc=True).order("id").limit(limit)
        return await self._rows(Message, query, "messages")

    async def add_callback(self, callback: Callback) -> None:
        """Store a callback request."""
        await self._insert("callbacks", callback)

    async def list_callbacks(self, tenant: str, limit: int = 100) -> list[Callback]:
        """Most recent first."""
        query = self.client.table("callbacks").select("*").eq("tenant", tenant)
        query = query.order("created_at", desc=True).order("id").limit(limit)
        return await self._rows(Callback, query, "callbacks")

    # --- recordings --------------------------------------------------------------------------
    async def add_recording(self, recording: Recording) -> None:
        """Store (or replace) a call's recording row (KeyError: no such call)."""
        row, table = to_row(recording, json_text=False), self.client.table("recordings")
        await self._run(table.upsert(row, on_conflict="call_id", returning=MINIMAL), "recordings")

    async def get_recording(self, call_id: str) -> Recording | None:
        """A call's recording, or None."""
        query = self.client.table("recordings").select("*").eq("call_id", call_id).limit(1)
        rows = await self._rows(Recording, query, "recordings")
        return rows[0] if rows else None

    def object_url(self, key: str) -> str:
        """The (authenticated) Storage URL of an object in the recordings bucket."""
        return f"{self.url}/storage/v1/object/{self.bucket}/{key}"

    async def upload_recording(self, call_id: str, path: str) -> str:
        """Upload the WAV to the recordings bucket as ``<call_id>.wav``; its object URL.

        Raises:
            FileNotFoundError: There is no such file.
            RuntimeError: Storage refused the upload (for example, no such bucket).
        """
        data = await asyncio.to_thread(Path(path).read_bytes)
        key = f"{call_id}{Path(path).suffix or '.wav'}"
        options = {"content-type": "audio/wav", "upsert": "true"}
        try:
            await self.client.storage.from_(self.bucket).upload(key, data, options)
        except Exception as exc:  # storage3 raises StorageApiError; keep the message
            raise RuntimeError(f"recording upload to bucket {self.bucket!r} failed: {exc}") from exc
        return self.object_url(key)

    async def _remove_objects(self, urls: list[str]) -> int:
        prefix = self.object_url("")
        keys = [url[len(prefix) :] for url in urls if url.startswith(prefix)]
        if not keys:
            return 0
        removed = await self.client.storage.from_(self.bucket).remove(keys)
        return len(removed)

    # --- webhook outbox ----------------------------------------------------------------------
    async def enqueue_event(self, event: OutboxEvent) -> None:
        """Add an event (idempotent on ``event.id``: a second enqueue changes nothing)."""
        if event.call_id is None and isinstance(event.payload.get("call_id"), str):
            event = event.model_copy(update={"call_id": event.payload["call_id"]})
        query = self.client.table("outbox_events").upsert(
            to_row(event, json_text=False),
            on_conflict="id",
            ignore_duplicates=True,
            returning=MINIMAL,
        )
        await self._run(query, "outbox_events")

    async def due_events(self, at: datetime, limit: int = 50) -> list[OutboxEvent]:
        """Pending events whose ``next_attempt_at`` <= ``at``, oldest first."""
        query = (
            self.client.table("outbox_events")
            .select("*")
            .eq("status", "pending")
            .lte("next_attempt_at", iso(at))
            .order("created_at")
            .order("id")
            .limit(limit)
        )
        return await self._rows(OutboxEvent, query, "outbox_events")

    async def mark_delivered(self, event_id: str) -> None:
        """The receiver accepted the event (KeyError: no such event)."""
        changes = {"status": "delivered", "delivered_at": iso(now())}
        query = self.client.table("outbox_events").update(changes).eq("id", event_id)
        if not await self._run(query, "outbox_events"):
            raise KeyError(f"no outbox event {event_id!r}")

    async def mark_attempt_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Count a failed attempt; ``None`` gives up (status failed). KeyError: no such event."""
        args = {
            "p_id": event_id,
            "p_error": error,
            "p_next_attempt_at": iso(next_attempt_at) if next_attempt_at else None,
        }
        if not await self._rpc("outbox_attempt_failed", args):
            raise KeyError(f"no outbox event {event_id!r}")

    async def list_events(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        """Outbox events, newest first."""
        query = self.client.table("outbox_events").select("*")
        if status is not None:
            query = query.eq("status", status)
        query = query.order("created_at", desc=True).order("id").limit(limit)
        return await self._rows(OutboxEvent, query, "outbox_events")

    async def count_events(self, status: OutboxStatus | None = None) -> int:
        """How many outbox events (with ``status``): a ``HEAD`` with ``Prefer: count=exact``."""
        query = self.client.table("outbox_events").select("id", count=EXACT, head=True)
        query = query.eq("status", status) if status is not None else query
        return (await self._response(query, "outbox_events")).count or 0

    # --- personal data -----------------------------------------------------------------------
    async def _deleted(self, fn: str, args: dict[str, Any]) -> dict[str, int]:
        result = dict(await self._rpc(fn, args))
        urls = result.pop("recording_urls", [])
        counts = {name: int(count) for name, count in result.items()}
        counts["recording_files"] = await self._remove_objects(urls)
        return counts

    async def purge_older_than(self, cutoff: datetime) -> dict[str, int]:
        """Delete everything created before ``cutoff`` (and its Storage objects); counts."""
        return await self._deleted("purge_older_than", {"p_cutoff": iso(cutoff)})

    async def delete_caller(self, tenant: str, caller: str) -> dict[str, int]:
        """Delete everything about one caller (and their recordings' objects); counts."""
        return await self._deleted("delete_caller", {"p_tenant": tenant, "p_caller": caller})
