"""The embedded backend: one SQLite file (WAL), stdlib ``sqlite3`` on a dedicated thread.

Memories are searched with FTS5 (bm25 rank, porter stemming); the index is an external-content
table kept in step with ``memories`` by triggers. Recordings stay where the recorder wrote them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from storage import sqlite_purge
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
from storage.sqlite_db import SQLiteDB

R = TypeVar("R", bound=Record)


def _integrity(exc: sqlite3.IntegrityError, what: str) -> Exception:
    """The contract's exception for a constraint failure."""
    if "FOREIGN KEY" in str(exc):
        return KeyError(f"{what}: the call it refers to does not exist")
    return ValueError(f"{what}: {exc}")


class SQLiteStorage(Storage):
    """Storage in one SQLite file.

    Args:
        path: The database file (``settings.sqlite_file``); its directory is created at open.
    """

    def __init__(self, path: str | Path) -> None:
        self.db = SQLiteDB(path)

    @property
    def path(self) -> Path:
        """The database file."""
        return self.db.path

    async def open(self) -> None:
        """Create the file if needed and apply pending migrations."""
        await self.db.open()

    async def close(self) -> None:
        """Close the connection and its thread."""
        await self.db.close()

    # --- helpers (storage thread) ------------------------------------------------------------
    def _insert(self, table: str, record: Record, conflict: str = "") -> int:
        row = to_row(record, json_text=True)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            with self.db.transaction() as conn:
                cursor = conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks}) {conflict}",
                    list(row.values()),
                )
                return cursor.rowcount
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"insert into {table}") from exc

    async def _select(
        self, model: type[R], sql: str, params: tuple[Any, ...] | list[Any] = ()
    ) -> list[R]:
        rows = await self.db.run(self.db.rows, sql, params)
        return [from_row(model, row) for row in rows]

    def _write(self, sql: str, params: list[Any]) -> int:
        with self.db.transaction() as conn:
            return conn.execute(sql, params).rowcount

    # --- tenant configuration ------------------------------------------------------------------
    async def get_agent_config(self, tenant: str, persona: str) -> AgentConfig | None:
        """The row for (tenant, persona), enabled or not, or None."""
        rows = await self._select(
            AgentConfig,
            "SELECT * FROM agent_configs WHERE tenant = ? AND persona = ?",
            (tenant, persona),
        )
        return rows[0] if rows else None

    async def put_agent_config(self, config: AgentConfig) -> None:
        """Insert or replace the row for (tenant, persona)."""
        keys = ("tenant", "persona")
        updates = ", ".join(
            f"{name} = excluded.{name}" for name in AgentConfig.model_fields if name not in keys
        )
        await self.db.run(
            self._insert,
            "agent_configs",
            config,
            f"ON CONFLICT (tenant, persona) DO UPDATE SET {updates}",
        )

    async def list_agent_configs(self, tenant: str | None = None) -> list[AgentConfig]:
        """Every row (or one tenant's), disabled ones too, by tenant then persona."""
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        sql = f"SELECT * FROM agent_configs {where} ORDER BY tenant, persona"
        return await self._select(AgentConfig, sql, params)

    async def delete_agent_config(self, tenant: str, persona: str) -> bool:
        """Delete the row for (tenant, persona); whether there was one."""
        sql = "DELETE FROM agent_configs WHERE tenant = ? AND persona = ?"
        return bool(await self.db.run(self._write, sql, [tenant, persona]))

    # --- calls -------------------------------------------------------------------------------
    async def create_call(self, call: CallRecord) -> None:
        """Insert a new call (a duplicate id is a ValueError)."""
        await self.db.run(self._insert, "calls", call)

    async def update_call(self, call_id: str, **fields: Any) -> None:
        """Set some columns of a call (KeyError: no such call; ValueError: unknown column)."""
        columns = call_fields(fields, json_text=True)
        sets = ", ".join(f"{name} = ?" for name in columns)
        changed = await self.db.run(
            self._write, f"UPDATE calls SET {sets} WHERE id = ?", [*columns.values(), call_id]
        )
        if changed == 0:
            raise KeyError(f"no call {call_id!r}")

    async def get_call(self, call_id: str) -> CallRecord | None:
        """One call, or None."""
        rows = await self._select(CallRecord, "SELECT * FROM calls WHERE id = ?", (call_id,))
        return rows[0] if rows else None

    async def list_calls(
        self, tenant: str | None = None, limit: int = 100, status: CallStatus | None = None
    ) -> list[CallRecord]:
        """Most recent first (optionally only one tenant's, or only ``status``)."""
        where = [(c, v) for c, v in (("tenant", tenant), ("status", status)) if v is not None]
        clause = " AND ".join(f"{column} = ?" for column, _ in where)
        sql = f"SELECT * FROM calls {'WHERE ' + clause if clause else ''} "
        sql += "ORDER BY started_at DESC, id LIMIT ?"
        return await self._select(CallRecord, sql, [*(v for _, v in where), limit])

    # --- transcript and metrics --------------------------------------------------------------
    async def add_turn(self, turn: TranscriptTurn) -> None:
        """Append a turn (ValueError: (call_id, seq) taken; KeyError: no such call)."""
        await self.db.run(self._insert, "transcript_turns", turn)

    async def list_turns(self, call_id: str) -> list[TranscriptTurn]:
        """A call's turns in order."""
        return await self._select(
            TranscriptTurn,
            "SELECT * FROM transcript_turns WHERE call_id = ? ORDER BY seq",
            [call_id],
        )

    async def add_turn_metrics(self, metrics: TurnMetrics) -> None:
        """Append one turn's stage latencies (KeyError: no such call)."""
        await self.db.run(self._insert, "turn_metrics", metrics)

    async def list_turn_metrics(self, call_id: str) -> list[TurnMetrics]:
        """A call's turn metrics in order."""
        return await self._select(
            TurnMetrics, "SELECT * FROM turn_metrics WHERE call_id = ? ORDER BY turn, id", [call_id]
        )

    # --- memories ----------------------------------------------------------------------------
    async def add_memory(self, memory: Memory) -> None:
        """Store a memory (a duplicate id is a ValueError)."""
        await self.db.run(self._insert, "memories", memory)

    async def search_memories(
        self, tenant: str, caller_key: str, query: str, limit: int = 5
    ) -> list[Memory]:
        """The caller's memories ranked by bm25 against ``query``; recent ones if none match."""
        words = search_words(query)
        if words:
            match = " OR ".join(f'"{word}"' for word in words)
            found = await self._select(
                Memory,
                "SELECT m.* FROM memories_fts JOIN memories m ON m.row_num = memories_fts.rowid"
                " WHERE memories_fts MATCH ? AND m.tenant = ? AND m.caller_key = ?"
                " ORDER BY bm25(memories_fts), m.created_at DESC LIMIT ?",
                [match, tenant, caller_key, limit],
            )
            if found:
                return found
        return await self._recent_memories(tenant, caller_key, limit)

    async def list_memories(self, tenant: str, caller_key: str) -> list[Memory]:
        """All of a caller's memories, newest first."""
        return await self._recent_memories(tenant, caller_key, -1)

    async def _recent_memories(self, tenant: str, caller_key: str, limit: int) -> list[Memory]:
        # LIMIT -1 is SQLite's "no limit". Recall's fallback reads only ``limit`` rows: reading
        # all of a caller's memories took 109/298 ms p50/p95 at 10k memories (bench memory).
        return await self._select(
            Memory,
            "SELECT * FROM memories WHERE tenant = ? AND caller_key = ?"
            " ORDER BY created_at DESC, row_num DESC LIMIT ?",
            [tenant, caller_key, limit],
        )

    # --- tools -------------------------------------------------------------------------------
    def _book(self, appointment: Appointment) -> None:
        row = to_row(appointment, json_text=True)
        if row["ends_at"] <= row["starts_at"]:
            raise ValueError("an appointment must end after it starts")
        with self.db.transaction() as conn:
            clash = conn.execute(
                "SELECT id FROM appointments WHERE tenant = ? AND starts_at < ? AND ends_at > ?",
                [row["tenant"], row["ends_at"], row["starts_at"]],
            ).fetchone()
            if clash is not None:
                raise ValueError(f"the slot overlaps appointment {clash[0]}")
            try:
                conn.execute(
                    f"INSERT INTO appointments ({', '.join(row)})"
                    f" VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
            except sqlite3.IntegrityError as exc:
                raise _integrity(exc, "insert into appointments") from exc

    async def add_appointment(self, appointment: Appointment) -> None:
        """Book a slot (ValueError: it overlaps one of the same tenant, or ends before start)."""
        await self.db.run(self._book, appointment)

    async def list_appointments(
        self, tenant: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """Appointments overlapping [start, end), by start time."""
        return await self._select(
            Appointment,
            "SELECT * FROM appointments WHERE tenant = ? AND starts_at < ? AND ends_at > ?"
            " ORDER BY starts_at",
            [tenant, iso(end), iso(start)],
        )

    async def add_message(self, message: Message) -> None:
        """Store a message or voicemail."""
        await self.db.run(self._insert, "messages", message)

    async def list_messages(self, tenant: str, limit: int = 100) -> list[Message]:
        """Most recent first."""
        return await self._select(
            Message,
            "SELECT * FROM messages WHERE tenant = ? ORDER BY created_at DESC, id LIMIT ?",
            [tenant, limit],
        )

    async def add_callback(self, callback: Callback) -> None:
        """Store a callback request."""
        await self.db.run(self._insert, "callbacks", callback)

    async def list_callbacks(self, tenant: str, limit: int = 100) -> list[Callback]:
        """Most recent first."""
        return await self._select(
            Callback,
            "SELECT * FROM callbacks WHERE tenant = ? ORDER BY created_at DESC, id LIMIT ?",
            [tenant, limit],
        )

    # --- recordings --------------------------------------------------------------------------
    async def add_recording(self, recording: Recording) -> None:
        """Store (or replace) a call's recording row (KeyError: no such call)."""
        row = to_row(recording, json_text=True)
        updates = ", ".join(f"{name} = excluded.{name}" for name in row if name != "call_id")
        await self.db.run(
            self._insert, "recordings", recording, f"ON CONFLICT (call_id) DO UPDATE SET {updates}"
        )

    async def get_recording(self, call_id: str) -> Recording | None:
        """A call's recording, or None."""
        rows = await self._select(
            Recording, "SELECT * FROM recordings WHERE call_id = ?", [call_id]
        )
        return rows[0] if rows else None

    async def upload_recording(self, call_id: str, path: str) -> str:
        """SQLite keeps recordings where they are: the absolute local path.

        Raises:
            FileNotFoundError: There is no such file.
        """
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(path)
        return str(file.resolve())

    # --- webhook outbox ----------------------------------------------------------------------
    async def enqueue_event(self, event: OutboxEvent) -> None:
        """Add an event (idempotent on ``event.id``: a second enqueue changes nothing)."""
        if event.call_id is None and isinstance(event.payload.get("call_id"), str):
            event = event.model_copy(update={"call_id": event.payload["call_id"]})
        await self.db.run(self._insert, "outbox_events", event, "ON CONFLICT (id) DO NOTHING")

    async def due_events(self, at: datetime, limit: int = 50) -> list[OutboxEvent]:
        """Pending events whose ``next_attempt_at`` <= ``at``, oldest first."""
        return await self._select(
            OutboxEvent,
            "SELECT * FROM outbox_events WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY created_at, id LIMIT ?",
            [iso(at), limit],
        )

    async def mark_delivered(self, event_id: str) -> None:
        """The receiver accepted the event (KeyError: no such event)."""
        changed = await self.db.run(
            self._write,
            "UPDATE outbox_events SET status = 'delivered', delivered_at = ? WHERE id = ?",
            [iso(now()), event_id],
        )
        if changed == 0:
            raise KeyError(f"no outbox event {event_id!r}")

    async def mark_attempt_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Count a failed attempt; ``None`` gives up (status failed). KeyError: no such event."""
        if next_attempt_at is None:
            sql = (
                "UPDATE outbox_events SET attempts = attempts + 1, last_error = ?,"
                " status = 'failed' WHERE id = ?"
            )
            params = [error, event_id]
        else:
            sql = (
                "UPDATE outbox_events SET attempts = attempts + 1, last_error = ?,"
                " status = 'pending', next_attempt_at = ? WHERE id = ?"
            )
            params = [error, iso(next_attempt_at), event_id]
        if await self.db.run(self._write, sql, params) == 0:
            raise KeyError(f"no outbox event {event_id!r}")

    async def list_events(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        """Outbox events, newest first."""
        if status is None:
            sql, params = (
                "SELECT * FROM outbox_events ORDER BY created_at DESC, id LIMIT ?",
                [limit],
            )
        else:
            sql = (
                "SELECT * FROM outbox_events WHERE status = ? ORDER BY created_at DESC, id LIMIT ?"
            )
            params = [status, limit]
        return await self._select(OutboxEvent, sql, params)

    async def count_events(self, status: OutboxStatus | None = None) -> int:
        """How many outbox events (with ``status``): one ``COUNT(*)``."""
        where, params = ("", []) if status is None else (" WHERE status = ?", [status])
        sql = f"SELECT COUNT(*) AS n FROM outbox_events{where}"
        [row] = await self.db.run(self.db.rows, sql, params)
        return int(row["n"])

    # --- personal data -----------------------------------------------------------------------
    def _purge(self, fn: Any, *args: Any) -> dict[str, int]:
        with self.db.transaction() as conn:
            counts, urls = fn(conn, *args)
        counts["recording_files"] = sqlite_purge.remove_files(urls, self.path.parent)
        return counts

    async def purge_older_than(self, cutoff: datetime) -> dict[str, int]:
        """Delete everything created before ``cutoff``; counts per table.

        Also appointments that ended before it, and recording files under the database's
        directory (``recording_files``).
        """
        return await self.db.run(self._purge, sqlite_purge.purge_older_than, iso(cutoff))

    async def delete_caller(self, tenant: str, caller: str) -> dict[str, int]:
        """Delete everything about one caller; counts per table (and ``recording_files``)."""
        return await self.db.run(self._purge, sqlite_purge.delete_caller, tenant, caller)
