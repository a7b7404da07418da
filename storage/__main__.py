"""Storage maintenance: ``python -m storage migrate | purge | delete-caller``.

- ``migrate``: apply ``supabase/migrations`` to ``DATABASE_URL`` (what ``make migrate`` runs).
  Without ``DATABASE_URL`` and with ``STORAGE_BACKEND=sqlite`` it opens the SQLite file, which
  applies its own migrations.
- ``purge``: delete everything older than ``RETENTION_DAYS`` from the configured backend.
- ``delete-caller --tenant T <phone-or-key>``: delete everything about one caller.

Both deletions print how many rows went from each table. Exit status 2 means a usage or
configuration error (nothing was changed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from config import Settings, get_settings
from storage import open_storage
from storage.base import Storage, now


def _print_counts(title: str, counts: dict[str, int]) -> None:
    print(f"{title}: {sum(v for k, v in counts.items() if k != 'recording_files')} rows")
    for table, count in counts.items():
        print(f"  {table}: {count}")


async def _with_storage(settings: Settings, job: Callable[[Storage], Awaitable[None]]) -> None:
    storage = open_storage(settings)
    await storage.open()
    try:
        await job(storage)
    finally:
        await storage.close()


def migrate(settings: Settings) -> int:
    """Apply the PostgreSQL migrations (or open SQLite, which migrates itself)."""
    if settings.database_url is not None:
        from storage.pg_migrate import migrate as pg_migrate

        applied = pg_migrate(settings.database_url.get_secret_value())
        print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
        return 0
    if settings.storage_backend == "sqlite":

        async def nothing(_: Storage) -> None:
            print(f"SQLite database {settings.sqlite_file} is up to date")

        asyncio.run(_with_storage(settings, nothing))
        return 0
    print("migrate needs DATABASE_URL (the PostgreSQL connection string)", file=sys.stderr)
    return 2


def purge(settings: Settings) -> int:
    """Delete everything older than RETENTION_DAYS."""
    days = settings.retention_days
    if days <= 0:
        print(
            "RETENTION_DAYS is 0, which keeps data until it is deleted; refusing to purge."
            " Set RETENTION_DAYS=<days> to delete what is older than that.",
            file=sys.stderr,
        )
        return 2
    cutoff = now() - timedelta(days=days)

    async def job(storage: Storage) -> None:
        counts = await storage.purge_older_than(cutoff)
        _print_counts(f"purged data older than {days} days ({cutoff:%Y-%m-%d %H:%M} UTC)", counts)

    asyncio.run(_with_storage(settings, job))
    return 0


def delete_caller(settings: Settings, tenant: str, caller: str) -> int:
    """Delete everything about one caller of one tenant."""

    async def job(storage: Storage) -> None:
        counts = await storage.delete_caller(tenant, caller)
        _print_counts(f"deleted caller {caller} of tenant {tenant}", counts)

    asyncio.run(_with_storage(settings, job))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m storage", description="Storage maintenance: migrate, purge, delete-caller."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply supabase/migrations to DATABASE_URL")
    commands.add_parser("purge", help="delete everything older than RETENTION_DAYS")
    delete = commands.add_parser("delete-caller", help="delete everything about one caller")
    delete.add_argument("--tenant", required=True, help="the tenant (single-tenant: default)")
    delete.add_argument("caller", help="phone number (E.164) or caller key")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        return migrate(settings)
    if args.command == "purge":
        return purge(settings)
    if not args.caller.strip():
        print("delete-caller needs a phone number or caller key", file=sys.stderr)
        return 2
    return delete_caller(settings, args.tenant, args.caller)


if __name__ == "__main__":
    sys.exit(main())
