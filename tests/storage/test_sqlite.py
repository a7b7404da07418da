"""What only SQLite has to get right: the file, its migrations, concurrency, FTS sync."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

from config import Settings
from storage.base import Memory, TranscriptTurn
from storage.sqlite import SQLiteStorage
from storage.sqlite_db import MIGRATIONS_DIR, apply_migrations
from tests.storage.helpers import call


async def test_open_creates_the_file_in_wal_mode_and_records_migrations(tmp_path):
    path = tmp_path / "deep" / "dir" / "switchboard.db"
    storage = SQLiteStorage(path)
    await storage.open()
    await storage.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in conn.execute("select name from schema_migrations order by name")]
    assert names == ["001_init.sql", "002_agent_turns.sql"]
    again = SQLiteStorage(path)
    await again.open()  # nothing left to apply: no "table already exists"
    await again.create_call(call("c1"))
    await again.close()


async def test_a_file_from_before_turn_settings_is_upgraded_and_keeps_its_rows(tmp_path):
    path, first = tmp_path / "old.db", tmp_path / "first"
    first.mkdir()
    shutil.copy(MIGRATIONS_DIR / "001_init.sql", first)
    with sqlite3.connect(path, isolation_level=None) as conn:
        apply_migrations(conn, first)
        conn.execute(
            "INSERT INTO agent_configs (tenant, persona, greeting, updated_at)"
            " VALUES ('acme', 'receptionist', 'Hi.', '2026-01-01T00:00:00.000000Z')"
        )
    storage = SQLiteStorage(path)
    await storage.open()
    [row] = await storage.list_agent_configs()
    assert (row.greeting, row.turns) == ("Hi.", {})
    await storage.put_agent_config(row.model_copy(update={"turns": {"barge_in": "off"}}))
    assert (await storage.get_agent_config("acme", "receptionist")).turns == {"barge_in": "off"}
    await storage.close()


async def test_foreign_keys_cascade_a_calls_children(tmp_path):
    storage = SQLiteStorage(tmp_path / "db.sqlite")
    await storage.open()
    await storage.create_call(call("c1"))
    await storage.add_turn(TranscriptTurn(call_id="c1", seq=1, role="user", text="hi"))
    counts = await storage.purge_older_than(call("x").started_at.replace(year=2100))
    assert (counts["calls"], counts["transcript_turns"]) == (1, 1)
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert conn.execute("select count(*) from transcript_turns").fetchone()[0] == 0
    await storage.close()


async def test_concurrent_writers_on_one_file_all_land(tmp_path):
    path = tmp_path / "db.sqlite"
    first, second = SQLiteStorage(path), SQLiteStorage(path)
    await asyncio.gather(first.open(), second.open())  # two migrators racing on a new file
    await first.create_call(call("c1"))

    async def say(storage, seq):
        await storage.add_turn(TranscriptTurn(call_id="c1", seq=seq, role="user", text=f"t{seq}"))

    await asyncio.gather(*(say(first if i % 2 else second, i) for i in range(200)))
    assert [t.seq for t in await first.list_turns("c1")] == list(range(200))
    await asyncio.gather(first.close(), second.close())


async def test_memory_search_survives_deletes_and_vacuum(tmp_path):
    path = tmp_path / "db.sqlite"
    storage = SQLiteStorage(path)
    await storage.open()
    for text in ["Has a dog named Rex", "Has a cat named Tom", "Drives a red truck"]:
        await storage.add_memory(Memory(caller_key="k", text=text))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("delete from memories where text like '%cat%'")
    conn.execute("vacuum")  # renumbers implicit rowids: the FTS index must not depend on them
    conn.close()
    assert [m.text for m in await storage.search_memories("default", "k", "truck")] == [
        "Drives a red truck"
    ]
    left = await storage.search_memories("default", "k", "cat", limit=10)
    assert sorted(m.text for m in left) == ["Drives a red truck", "Has a dog named Rex"]
    await storage.close()


def test_an_empty_sqlite_path_means_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SQLITE_PATH", "")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.sqlite_file == tmp_path / "switchboard.db"
