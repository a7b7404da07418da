"""Storage fixtures: both backends behind one ``storage`` fixture.

``postgres`` is a throwaway PostgreSQL cluster for the session with the project's migrations
applied by the same code as ``make migrate``; ``postgrest`` is the PostgREST + Storage double
over it (other suites may reuse both: ``postgrest.env()`` points a launcher at it). Each
``storage`` test starts from empty tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from config import Settings
from simulators.doubles.postgrest_process import PostgrestProcess
from storage.base import Storage
from storage.pg_migrate import migrate
from storage.sqlite import SQLiteStorage
from storage.supabase import SupabaseStorage
from tests.storage.pg_cluster import PgCluster

SERVICE_KEY = "service-role-test-key"
BUCKET = "recordings"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """A PostgreSQL cluster with ``supabase/migrations`` applied."""
    with PgCluster() as cluster:
        migrate(cluster.url)
        yield cluster


@pytest.fixture(scope="session")
def postgrest(postgres: PgCluster, tmp_path_factory: pytest.TempPathFactory):
    """The PostgREST double over ``postgres`` (``.url``, ``.key``, ``.env()``)."""
    storage_dir = tmp_path_factory.mktemp("supabase-storage")
    with PostgrestProcess(postgres.url, SERVICE_KEY, storage_dir, [BUCKET]) as server:
        yield server


def empty_tables(url: str) -> None:
    """Delete every row of every public table (between tests)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select tablename from pg_tables where schemaname = 'public'"
            ).fetchall()
        ]
        if tables:
            names = ", ".join(f'public."{name}"' for name in tables)
            conn.execute(f"truncate {names} restart identity cascade")


def supabase_settings(server: PostgrestProcess) -> Settings:
    """Settings for the Supabase backend pointed at the double."""
    return Settings(
        _env_file=None,
        storage_backend="supabase",
        supabase_url=server.url,
        supabase_service_key=server.key,
        supabase_recordings_bucket=BUCKET,
    )


@pytest.fixture(params=["sqlite", "supabase"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An opened, empty backend: SQLite in a temp dir, or Supabase over real PostgreSQL."""
    if request.param == "sqlite":
        backend: Storage = SQLiteStorage(tmp_path / "data" / "switchboard.db")
    else:
        server = request.getfixturevalue("postgrest")
        empty_tables(server.dsn)
        for file in Path(server.storage_dir, BUCKET).glob("*"):
            file.unlink()
        backend = SupabaseStorage(supabase_settings(server))
    await backend.open()
    yield backend
    await backend.close()
