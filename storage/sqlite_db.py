"""One SQLite connection on its own thread: every statement runs there, one at a time.

The event loop never touches the file: :meth:`SQLiteDB.run` hands a function to the storage's
single worker thread, so writes are serialized and the audio path never blocks on disk.
The file is in WAL mode (readers in other processes do not wait for the writer) with a busy
timeout, foreign keys on, and the migrations in ``storage/migrations/sqlite`` applied at open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

MIGRATIONS_DIR = Path(__file__).parent / "migrations" / "sqlite"
BUSY_TIMEOUT_MS = 10_000

T = TypeVar("T")


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of a script (trigger bodies stay whole)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of the script: {buffer[:80]!r}")
    return statements


def apply_migrations(conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the ``NNN_name.sql`` files not yet in ``schema_migrations``, each in a transaction.

    Safe when several processes open the same file at once: the check and the apply happen
    under one write lock (``BEGIN IMMEDIATE``).

    Returns:
        The names applied now.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    applied_now = []
    for path in sorted(directory.glob("*.sql")):
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE name = ?", (path.name,)
            ).fetchone()
            if done is None:
                for statement in split_statements(path.read_text()):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (path.name, datetime.now(UTC).isoformat()),
                )
                applied_now.append(path.name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied_now


class SQLiteDB:
    """A SQLite file opened on a dedicated thread.

    Args:
        path: The database file; its directory is created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the directory and file, set the pragmas, apply migrations."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            await self.run(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        applied = apply_migrations(conn)
        if applied:
            logger.info(f"SQLite {self.path}: applied migrations {', '.join(applied)}")
        self._conn = conn

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._executor is None:
            return
        if self._conn is not None:
            await self.run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the storage thread.

        Raises:
            RuntimeError: The storage is not open.
        """
        if self._executor is None:
            raise RuntimeError("storage is not open (await storage.open() first)")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection (only on the storage thread)."""
        if self._conn is None:
            raise RuntimeError("storage is not open (await storage.open() first)")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed or rolled back."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query as dicts (only on the storage thread)."""
        return [dict(row) for row in self.conn.execute(sql, params).fetchall()]


def _set_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch a connection to WAL, retrying while another process holds the lock.

    Changing the journal mode does not wait on the busy handler, so two processes opening a new
    file at once (two workers) got "database is locked".
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02)
