"""Deleting personal data from SQLite: by age (retention) and by caller (a deletion request).

Both run in one write transaction and return how many rows went from each table. Child rows
of a call (turns, metrics, recording row) go by ``ON DELETE CASCADE``; they are counted first.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

CASCADED = ("transcript_turns", "turn_metrics", "recordings")


def _count(conn: sqlite3.Connection, sql: str, params: list[Any]) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _delete(conn: sqlite3.Connection, sql: str, params: list[Any]) -> int:
    return conn.execute(sql, params).rowcount


def _delete_calls(
    conn: sqlite3.Connection, where: str, params: list[Any]
) -> tuple[dict[str, int], list[str]]:
    """Delete the calls matching ``where`` (on ``calls``), counting their cascaded children."""
    selected = f"SELECT id FROM calls WHERE {where}"
    counts = {
        table: _count(conn, f"SELECT count(*) FROM {table} WHERE call_id IN ({selected})", params)
        for table in CASCADED
    }
    urls = [
        row[0]
        for row in conn.execute(
            f"SELECT url FROM recordings WHERE call_id IN ({selected})", params
        ).fetchall()
    ]
    return counts, urls


def purge_older_than(conn: sqlite3.Connection, cutoff: str) -> tuple[dict[str, int], list[str]]:
    """Delete what was created before ``cutoff`` (ISO text); counts and recording paths."""
    where, params = "started_at < ?", [cutoff]
    counts, urls = _delete_calls(conn, where, params)
    selected = f"SELECT id FROM calls WHERE {where}"
    for table in ("messages", "callbacks"):
        counts[table] = _delete(
            conn,
            f"DELETE FROM {table} WHERE created_at < ? OR call_id IN ({selected})",
            [cutoff, *params],
        )
    counts["memories"] = _delete(conn, "DELETE FROM memories WHERE created_at < ?", [cutoff])
    counts["appointments"] = _delete(conn, "DELETE FROM appointments WHERE ends_at < ?", [cutoff])
    counts["outbox_events"] = _delete(
        conn,
        "DELETE FROM outbox_events WHERE status IN ('delivered', 'failed') AND created_at < ?",
        [cutoff],
    )
    counts["calls"] = _delete(conn, f"DELETE FROM calls WHERE {where}", params)
    return counts, urls


def delete_caller(
    conn: sqlite3.Connection, tenant: str, caller: str
) -> tuple[dict[str, int], list[str]]:
    """Delete everything about one caller (phone number or caller key) of one tenant."""
    where = "tenant = ? AND (caller_key = ? OR caller_number = ?)"
    params = [tenant, caller, caller]
    selected = f"SELECT id FROM calls WHERE {where}"
    keys = [caller] + [
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT caller_key FROM calls WHERE {where} AND caller_key IS NOT NULL",
            params,
        ).fetchall()
    ]
    marks = ", ".join("?" for _ in keys)
    counts, urls = _delete_calls(conn, where, params)
    by_call = f"call_id IN ({selected})"
    counts["messages"] = _delete(
        conn,
        f"DELETE FROM messages WHERE tenant = ? AND (caller_number = ? OR {by_call})",
        [tenant, caller, *params],
    )
    for table, column in (("callbacks", "phone"), ("appointments", "phone")):
        counts[table] = _delete(
            conn,
            f"DELETE FROM {table} WHERE tenant = ? AND ({column} = ? OR {by_call})",
            [tenant, caller, *params],
        )
    counts["memories"] = _delete(
        conn,
        f"DELETE FROM memories WHERE tenant = ? AND (caller_key IN ({marks})"
        f" OR source_call_id IN ({selected}))",
        [tenant, *keys, *params],
    )
    counts["outbox_events"] = _delete(conn, f"DELETE FROM outbox_events WHERE {by_call}", params)
    counts["calls"] = _delete(conn, f"DELETE FROM calls WHERE {where}", params)
    return counts, urls


def remove_files(urls: list[str], root: Path) -> int:
    """Delete recording files that live under ``root`` (never anything outside it)."""
    removed = 0
    root = root.resolve()
    for url in urls:
        path = Path(url).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
