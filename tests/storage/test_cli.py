"""``python -m storage``: purge, delete-caller and migrate, run as an operator would (subprocess).

Purge and delete-caller run against a real SQLite file; migrate against a fresh database in
the session's PostgreSQL cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from storage.base import Memory
from storage.pg_migrate import migration_files
from storage.sqlite import SQLiteStorage
from tests.storage.helpers import ago, call

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m storage ...`` in an empty directory (no .env), settings from ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RETENTION_DAYS")}
    full_env = {**clean, "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, "-m", "storage", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def seeded(tmp_path: Path) -> SQLiteStorage:
    storage = SQLiteStorage(tmp_path / "data" / "switchboard.db")
    await storage.open()
    await storage.create_call(call("old", caller_number="+15550001", started_at=ago(days=40)))
    await storage.create_call(call("new", caller_number="+15550001", started_at=ago(days=1)))
    await storage.create_call(call("other", caller_number="+15550002", started_at=ago(days=1)))
    await storage.add_memory(Memory(caller_key="+15550001", text="Likes tea"))
    return storage


async def test_purge_deletes_what_is_older_than_retention_and_prints_counts(tmp_path):
    storage = await seeded(tmp_path)
    result = run_cli(tmp_path, "purge", RETENTION_DAYS="30")
    assert result.returncode == 0, result.stderr
    assert "older than 30 days" in result.stdout
    assert "  calls: 1\n" in result.stdout and "  memories: 0\n" in result.stdout
    assert {c.id for c in await storage.list_calls()} == {"new", "other"}
    await storage.close()


async def test_purge_refuses_when_retention_is_zero(tmp_path):
    storage = await seeded(tmp_path)
    result = run_cli(tmp_path, "purge", RETENTION_DAYS="0")
    assert result.returncode == 2
    assert "RETENTION_DAYS is 0" in result.stderr and "refusing" in result.stderr
    assert len(await storage.list_calls()) == 3
    await storage.close()


async def test_delete_caller_removes_one_caller_and_prints_counts(tmp_path):
    storage = await seeded(tmp_path)
    result = run_cli(tmp_path, "delete-caller", "--tenant", "default", "+15550001")
    assert result.returncode == 0, result.stderr
    assert "deleted caller +15550001 of tenant default" in result.stdout
    assert "  calls: 2\n" in result.stdout and "  memories: 1\n" in result.stdout
    assert [c.id for c in await storage.list_calls()] == ["other"]
    assert await storage.list_memories("default", "+15550001") == []
    missing_tenant = run_cli(tmp_path, "delete-caller", "+15550002")
    assert missing_tenant.returncode == 2 and "--tenant" in missing_tenant.stderr
    assert [c.id for c in await storage.list_calls()] == ["other"]
    await storage.close()


def test_migrate_applies_supabase_migrations_once_and_records_them(tmp_path, postgres):
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("drop database if exists cli_migrate")
        conn.execute("create database cli_migrate")
    url = postgres.url.rsplit("/", 1)[0] + "/cli_migrate"
    first = run_cli(tmp_path, "migrate", DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    names = [path.name for path in migration_files()]
    assert first.stdout.strip() == f"applied: {', '.join(names)}"
    second = run_cli(tmp_path, "migrate", DATABASE_URL=url)
    assert (second.returncode, second.stdout.strip()) == (0, "database is up to date")
    with psycopg.connect(url) as conn:
        recorded = conn.execute("select name from switchboard.schema_migrations order by name")
        assert [row[0] for row in recorded.fetchall()] == names
        tables = conn.execute("select count(*) from pg_tables where schemaname = 'public'")
        assert tables.fetchone()[0] == 10


def test_migrate_without_a_database_url_explains_itself(tmp_path):
    result = run_cli(tmp_path, "migrate", STORAGE_BACKEND="supabase")
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr
    sqlite = run_cli(tmp_path, "migrate")
    assert sqlite.returncode == 0 and "is up to date" in sqlite.stdout
    assert (tmp_path / "data" / "switchboard.db").is_file()
