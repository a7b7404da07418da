"""A PostgREST-compatible server over a real PostgreSQL, for the Supabase backend's tests.

PostgREST itself cannot be installed here, so this implements exactly the subset supabase-py
sends for ``storage.supabase``: ``/rest/v1/<table>`` GET and HEAD (select, filters, order,
limit, offset; ``Prefer: count=exact`` with PostgREST's ``Content-Range``, 206 and 416), POST
(insert, upsert with ``on_conflict`` and ``Prefer: resolution=...``), PATCH, DELETE
(``Prefer: return=representation|minimal``), ``/rest/v1/rpc/<fn>``, and the Storage API calls
in ``postgrest_storage``. Like Supabase's gateway it requires the key in ``apikey`` and
``Authorization: Bearer``. Errors are PostgREST's JSON ``{code, message, details, hint}``
with the real SQLSTATE and PostgREST's HTTP status for it.

Run: ``python -m simulators.doubles.postgrest --dsn postgresql://... --key KEY --storage-dir DIR``;
it prints ``READY <base url>`` when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import psycopg
from aiohttp import web
from psycopg import AsyncConnection, sql

from simulators.doubles import postgrest_storage
from simulators.doubles.postgrest_query import (
    PostgrestError,
    SchemaCache,
    as_json,
    order_by,
    paging,
    select_list,
    value,
    where,
)

# PostgREST's table (docs.postgrest.org, references/errors: "HTTP Status Codes").
STATUS_BY_SQLSTATE = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
    "42501": 403,
}
STATUS_BY_CLASS = {"08": 503, "09": 500, "0L": 403, "0P": 403, "28": 403, "53": 503}
SERVER_ERROR_CLASSES = {"25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV"}
SERVER_ERROR_CLASSES |= {"P0", "XX"}


def status_for(sqlstate: str) -> int:
    """PostgREST's HTTP status for a PostgreSQL error code (anything else is 400)."""
    if sqlstate in STATUS_BY_SQLSTATE:
        return STATUS_BY_SQLSTATE[sqlstate]
    if sqlstate[:2] in STATUS_BY_CLASS:
        return STATUS_BY_CLASS[sqlstate[:2]]
    return 500 if sqlstate[:2] in SERVER_ERROR_CLASSES else 400


def error_response(status: int, body: dict[str, Any]) -> web.Response:
    """A JSON error as PostgREST sends it."""
    return web.json_response(body, status=status)


@web.middleware
async def postgrest_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Check the key; turn our and PostgreSQL's errors into PostgREST JSON."""
    key = request.app["key"]
    apikey = request.headers.get("apikey") or request.query.get("apikey")
    if not apikey:
        return error_response(
            401,
            {
                "message": "No API key found in request",
                "hint": "No `apikey` request header or url param was found.",
            },
        )
    bearer = request.headers.get("Authorization", "")
    if apikey != key or bearer != f"Bearer {key}":
        return error_response(401, {"message": "Invalid API key", "hint": None})
    try:
        return await handler(request)
    except PostgrestError as exc:
        return error_response(exc.status, exc.body())
    except psycopg.Error as exc:
        diag = exc.diag
        sqlstate = exc.sqlstate or "XX000"
        body = {
            "code": sqlstate,
            "details": diag.message_detail,
            "hint": diag.message_hint,
            "message": diag.message_primary or str(exc),
        }
        return error_response(status_for(sqlstate), body)


class Pool:
    """A few open connections, reused; each request runs in one transaction."""

    def __init__(self, dsn: str, size: int = 8) -> None:
        self.dsn, self.size = dsn, size
        self.idle: asyncio.Queue[AsyncConnection] = asyncio.Queue()
        self.opened = 0

    async def get(self) -> AsyncConnection:
        """An idle connection, or a new one while under ``size``."""
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            return await AsyncConnection.connect(self.dsn, options="-c TimeZone=UTC")
        return await self.idle.get()

    def put(self, conn: AsyncConnection) -> None:
        """Give a connection back (broken ones are dropped)."""
        if conn.closed or conn.broken:
            self.opened -= 1
        else:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        """Close the idle connections."""
        while not self.idle.empty():
            await self.idle.get_nowait().close()


async def run_json(request: web.Request, query: sql.Composable) -> str:
    """Run a JSON-producing statement in its own transaction; the JSON text."""
    pool: Pool = request.app["pool"]
    conn = await pool.get()
    try:
        async with conn.transaction():
            row = await (await conn.execute(query)).fetchone()
        return row[0] if row else "[]"
    finally:
        pool.put(conn)


async def schema(request: web.Request, table: str) -> tuple[SchemaCache, dict[str, str]]:
    """The cache and a table's columns (reloading once for tables created since start)."""
    cache: SchemaCache = request.app["schema"]
    if table not in cache.tables:
        pool: Pool = request.app["pool"]
        conn = await pool.get()
        try:
            await cache.load(conn)
            await conn.rollback()
        finally:
            pool.put(conn)
    return cache, cache.columns(table)


def prefer(request: web.Request) -> set[str]:
    """The ``Prefer`` header's preferences."""
    return {p.strip() for p in request.headers.get("Prefer", "").split(",") if p.strip()}


def reply(request: web.Request, text: str, created: bool = False) -> web.Response:
    """200/201 with the rows, or 201/204 with no body when ``return=minimal``."""
    if "return=representation" in prefer(request) or request.method == "GET":
        return web.Response(
            text=text, status=201 if created else 200, content_type="application/json"
        )
    return web.Response(status=201 if created else 204)


def content_range(lower: int, returned: int, total: int | None) -> tuple[int, str]:
    """PostgREST's status and ``Content-Range`` of a read (``total``: the exact count, if asked).

    Raises:
        PostgrestError: 416 when the offset is past the last row (only known with a count).
    """
    upper = lower + returned - 1
    if total is not None and lower > total:
        raise PostgrestError(416, "PGRST103", "Requested range not satisfiable")
    rows = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    header = f"{rows}/{'*' if total is None else total}"
    return (206 if total is not None and returned < total else 200), header


async def get_rows(request: web.Request) -> web.Response:
    """``GET`` (or ``HEAD``: no body) ``/rest/v1/<table>``; ``Prefer: count=exact`` counts."""
    table = request.match_info["table"]
    cache, _ = await schema(request, table)
    params = list(request.query.items())
    filters = where(cache, table, params)
    query = sql.SQL("select {} from {}{}{}{}").format(
        select_list(cache, table, request.query.get("select")),
        sql.Identifier(table),
        filters,
        order_by(cache, table, request.query.get("order")),
        paging(dict(request.query)),
    )
    text = await run_json(request, as_json(query))
    total = None
    if "count=exact" in prefer(request):
        count = sql.SQL("select count(*)::text from {}{}").format(sql.Identifier(table), filters)
        total = int(await run_json(request, count))
    offset = int(request.query.get("offset", "0"))
    status, header = content_range(offset, len(json.loads(text)), total)
    headers = {"Content-Range": header}
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)


def body_columns(table: str, columns: dict[str, str], names: list[str]) -> None:
    """PostgREST's PGRST204 for a column the table does not have."""
    for name in names:
        if name not in columns:
            raise PostgrestError(
                400,
                "PGRST204",
                f"Could not find the '{name}' column of '{table}' in the schema cache",
            )


async def insert_rows(request: web.Request) -> web.Response:
    """``POST /rest/v1/<table>``: insert or upsert one row or a list."""
    table = request.match_info["table"]
    cache, columns = await schema(request, table)
    body = await request.json()
    rows = body if isinstance(body, list) else [body]
    if "columns" in request.query:
        names = [n.strip().strip('"') for n in request.query["columns"].split(",")]
    else:
        names = list(dict.fromkeys(k for row in rows for k in row))
    body_columns(table, columns, names)
    missing_default = "missing=default" in prefer(request)
    values = [
        sql.SQL("({})").format(
            sql.SQL(", ").join(
                value(columns[n], row[n])
                if n in row
                else sql.SQL("default" if missing_default else "null")
                for n in names
            )
        )
        for row in rows
    ]
    query = sql.SQL("insert into {} ({}) values {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(values),
    )
    preferences = prefer(request)
    if preferences & {"resolution=merge-duplicates", "resolution=ignore-duplicates"}:
        target = request.query.get("on_conflict")
        keys = [k.strip() for k in target.split(",")] if target else cache.keys.get(table, [])
        body_columns(table, columns, keys)
        updates = [n for n in names if n not in keys]
        if "resolution=ignore-duplicates" in preferences or not updates:
            action = sql.SQL("nothing")
        else:
            action = sql.SQL("update set ") + sql.SQL(", ").join(
                sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in updates
            )
        query += sql.SQL(" on conflict ({}) do {}").format(
            sql.SQL(", ").join(map(sql.Identifier, keys)), action
        )
    query += sql.SQL(" returning *")
    return reply(request, await run_json(request, as_json(query)), created=True)


async def update_rows(request: web.Request) -> web.Response:
    """``PATCH /rest/v1/<table>?<filters>``."""
    table = request.match_info["table"]
    cache, columns = await schema(request, table)
    body = await request.json()
    body_columns(table, columns, list(body))
    query = sql.SQL("update {} set {}{} returning *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(n), value(columns[n], v))
            for n, v in body.items()
        ),
        where(cache, table, list(request.query.items())),
    )
    return reply(request, await run_json(request, as_json(query)))


async def delete_rows(request: web.Request) -> web.Response:
    """``DELETE /rest/v1/<table>?<filters>``."""
    table = request.match_info["table"]
    cache, _ = await schema(request, table)
    query = sql.SQL("delete from {}{} returning *").format(
        sql.Identifier(table), where(cache, table, list(request.query.items()))
    )
    return reply(request, await run_json(request, as_json(query)))


async def call_function(request: web.Request) -> web.Response:
    """``POST /rest/v1/rpc/<fn>`` with named arguments in a JSON object."""
    name = request.match_info["fn"]
    args = await request.json() if request.can_read_body else {}
    cache: SchemaCache = request.app["schema"]
    function = cache.functions.get(name)
    if function is None or set(args) != set(function.args):
        listed = ", ".join(sorted(args))
        raise PostgrestError(
            404,
            "PGRST202",
            f"Could not find the function public.{name}({listed}) in the schema cache",
            "Perhaps you meant to call a function with other arguments",
        )
    call = sql.SQL("{}({})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(
            sql.SQL("{} => {}").format(sql.Identifier(arg), value(function.args[arg], args[arg]))
            for arg in args
        ),
    )
    if function.returns_set or function.returns_row:
        query = sql.SQL("select coalesce(json_agg(_t), '[]')::text from {} _t").format(call)
        text = await run_json(request, query)
        if not function.returns_set:
            text = json.dumps(json.loads(text)[0]) if json.loads(text) else "null"
    else:
        text = await run_json(request, sql.SQL("select to_json({})::text").format(call))
    return web.Response(text=text, content_type="application/json")


def make_app(dsn: str, key: str, storage_dir: str, buckets: list[str]) -> web.Application:
    """The server: REST, RPC and Storage routes over ``dsn``."""
    app = web.Application(middlewares=[postgrest_errors], client_max_size=64 * 1024 * 1024)
    app["key"], app["pool"], app["schema"] = key, Pool(dsn), SchemaCache()

    async def lifecycle(app: web.Application) -> Any:
        conn = await app["pool"].get()
        await app["schema"].load(conn)
        await conn.rollback()
        app["pool"].put(conn)
        yield
        await app["pool"].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/rest/v1/rpc/{fn}", call_function)
    app.router.add_get("/rest/v1/{table}", get_rows)
    app.router.add_post("/rest/v1/{table}", insert_rows)
    app.router.add_patch("/rest/v1/{table}", update_rows)
    app.router.add_delete("/rest/v1/{table}", delete_rows)
    postgrest_storage.add_routes(app, storage_dir, buckets)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Listen on 127.0.0.1 and print the ready line."""
    app = make_app(args.dsn, args.key, args.storage_dir, args.bucket or [])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"READY http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--storage-dir", required=True)
    parser.add_argument("--bucket", action="append")
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
