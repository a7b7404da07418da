"""Apply ``supabase/migrations/*.sql`` to a PostgreSQL database, in name order, once each.

``make migrate DATABASE_URL=...`` and ``python -m storage migrate`` call :func:`migrate`; the
test suite applies the same files the same way. Applied files are recorded in
``switchboard.schema_migrations`` (a schema PostgREST does not expose). Each file runs in its
own transaction under an advisory lock, so two migrators never interleave. The Supabase CLI
(``supabase db push``) applies the same files and keeps its own record instead.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "supabase" / "migrations"
LOCK_KEY = 0x5377_6263  # pg_advisory_xact_lock key: "Swbc"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files in the order they apply."""
    return sorted(directory.glob("*.sql"))


def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations.

    Args:
        database_url: A libpq URL (``postgresql://user:password@host:5432/postgres``).
        directory: Where the ``.sql`` files are.

    Returns:
        The file names applied now (empty when the database was up to date).

    Raises:
        RuntimeError: psycopg is not installed (it is in the dev dependencies).
    """
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the dev group installs it
        raise RuntimeError(
            "psycopg is needed to migrate (uv sync installs it); or run `supabase db push`"
        ) from exc
    applied_now = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists switchboard")
        conn.execute(
            "create table if not exists switchboard.schema_migrations"
            " (name text primary key, applied_at timestamptz not null default now())"
        )
        for path in migration_files(directory):
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                done = conn.execute(
                    "select 1 from switchboard.schema_migrations where name = %s", (path.name,)
                ).fetchone()
                if done is None:
                    conn.execute(path.read_text())
                    conn.execute(
                        "insert into switchboard.schema_migrations (name) values (%s)",
                        (path.name,),
                    )
                    applied_now.append(path.name)
    return applied_now
