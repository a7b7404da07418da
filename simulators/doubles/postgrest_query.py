"""PostgREST's URL grammar turned into parameterised SQL (the subset supabase-py sends us).

Table and column names are checked against the live catalog (``SchemaCache``) and quoted as
identifiers; values travel as parameters cast to the column's type, so nothing from a request
is ever spliced into SQL text. Results are built by PostgreSQL itself (``json_agg``), as
PostgREST does, so times, numbers and jsonb look exactly like the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

RESERVED = frozenset({"select", "order", "limit", "offset", "columns", "on_conflict"})
OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class PostgrestError(Exception):
    """An error PostgREST itself raises (not PostgreSQL): code, message, HTTP status."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"code": self.code, "details": None, "hint": self.hint, "message": self.message}


@dataclass
class Function:
    """A function in ``public``: its argument names and types, and what it returns."""

    args: dict[str, str]
    returns_set: bool
    returns_row: bool


@dataclass
class SchemaCache:
    """Tables (column -> type), primary keys and functions of the ``public`` schema."""

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)

    async def load(self, conn: AsyncConnection) -> None:
        """Read the catalog."""
        self.tables, self.keys, self.functions = {}, {}, {}
        rows = await (
            await conn.execute(
                "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
                " from pg_attribute a join pg_class c on c.oid = a.attrelid"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'public' and c.relkind in ('r', 'v')"
                " and a.attnum > 0 and not a.attisdropped order by a.attnum"
            )
        ).fetchall()
        for table, column, type_name in rows:
            self.tables.setdefault(table, {})[column] = type_name
        rows = await (
            await conn.execute(
                "select tc.table_name, kcu.column_name from information_schema.table_constraints tc"
                " join information_schema.key_column_usage kcu"
                " on kcu.constraint_name = tc.constraint_name"
                " and kcu.table_schema = tc.table_schema"
                " where tc.table_schema = 'public' and tc.constraint_type = 'PRIMARY KEY'"
                " order by kcu.ordinal_position"
            )
        ).fetchall()
        for table, column in rows:
            self.keys.setdefault(table, []).append(column)
        rows = await (
            await conn.execute(
                "select p.proname, coalesce(p.proargnames, '{}'),"
                " array(select format_type(t, null) from unnest(p.proargtypes) t),"
                " p.proretset, t.typtype = 'c'"
                " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                " join pg_type t on t.oid = p.prorettype where n.nspname = 'public'"
            )
        ).fetchall()
        for name, arg_names, arg_types, returns_set, returns_row in rows:
            self.functions[name] = Function(
                dict(zip(arg_names, arg_types, strict=False)), returns_set, returns_row
            )

    def columns(self, table: str) -> dict[str, str]:
        """The columns of a table, or PostgREST's PGRST205."""
        if table not in self.tables:
            raise PostgrestError(
                404,
                "PGRST205",
                f"Could not find the table 'public.{table}' in the schema cache",
            )
        return self.tables[table]


def column(cache: SchemaCache, table: str, name: str) -> str:
    """A column name checked against the table, else PostgreSQL's 42703 as PostgREST says it."""
    if name not in cache.columns(table):
        raise PostgrestError(400, "42703", f"column {table}.{name} does not exist")
    return name


def value(type_name: str, raw: Any) -> sql.Composable:
    """A parameter cast to the column's type (jsonb values as JSON)."""
    if type_name in ("jsonb", "json") and raw is not None:
        return sql.SQL("{}::{}").format(sql.Literal(Jsonb(raw)), sql.SQL(type_name))
    return sql.SQL("{}::{}").format(sql.Literal(raw), sql.SQL(type_name))


def split_list(text: str) -> list[str]:
    """Items of ``(a,"b,c")`` with PostgREST's double-quote escaping."""
    items, current, quoted, escaped, was_quoted = [], "", False, False, False
    for char in text:
        if escaped:
            current, escaped = current + char, False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted, was_quoted = not quoted, True
        elif char == "," and not quoted:
            items.append(current if was_quoted else current.strip())
            current, was_quoted = "", False
        else:
            current += char
    items.append(current if was_quoted else current.strip())
    return items


def condition(cache: SchemaCache, table: str, name: str, expr: str) -> sql.Composable:
    """One ``column=op.value`` filter as SQL."""
    type_name = cache.columns(table).get(column(cache, table, name))
    ident = sql.Identifier(name)
    negate = expr.startswith("not.")
    if negate:
        expr = expr[4:]
    op, _, raw = expr.partition(".")
    if op in OPERATORS:
        built = sql.SQL("{} {} {}").format(ident, sql.SQL(OPERATORS[op]), value(type_name, raw))
    elif op == "in" and raw.startswith("(") and raw.endswith(")"):
        items = split_list(raw[1:-1]) if raw[1:-1] else []
        built = sql.SQL("{} = any({})").format(
            ident, sql.SQL("{}::{}[]").format(sql.Literal(items), sql.SQL(type_name))
        )
    elif op == "is" and raw.lower() in ("null", "true", "false", "unknown"):
        built = sql.SQL("{} is {}").format(ident, sql.SQL(raw.lower()))
    else:
        raise PostgrestError(
            400, "PGRST100", f'"failed to parse filter ({expr})" (line 1, column 1)'
        )
    return sql.SQL("not ({})").format(built) if negate else built


def where(cache: SchemaCache, table: str, params: list[tuple[str, str]]) -> sql.Composable:
    """The WHERE clause of all filters (AND), or nothing."""
    parts = [condition(cache, table, k, v) for k, v in params if k not in RESERVED]
    if not parts:
        return sql.SQL("")
    return sql.SQL(" where ") + sql.SQL(" and ").join(parts)


def select_list(cache: SchemaCache, table: str, select: str | None) -> sql.Composable:
    """``select=*`` or a list of (possibly quoted) columns."""
    if not select or select == "*":
        return sql.SQL("*")
    names = [name.strip('"') for name in split_list(select)]
    return sql.SQL(", ").join(sql.Identifier(column(cache, table, n)) for n in names)


def order_by(cache: SchemaCache, table: str, order: str | None) -> sql.Composable:
    """``order=a.desc.nullslast,b`` as ORDER BY."""
    if not order:
        return sql.SQL("")
    terms = []
    for term in split_list(order):
        name, *mods = term.split(".")
        parts = [sql.Identifier(column(cache, table, name.strip('"')))]
        for mod in mods:
            words = {"asc": "asc", "desc": "desc", "nullsfirst": "nulls first"}
            words["nullslast"] = "nulls last"
            if mod not in words:
                raise PostgrestError(400, "PGRST100", f'"failed to parse order ({order})"')
            parts.append(sql.SQL(words[mod]))
        terms.append(sql.SQL(" ").join(parts))
    return sql.SQL(" order by ") + sql.SQL(", ").join(terms)


def paging(params: dict[str, str]) -> sql.Composable:
    """LIMIT and OFFSET from the query string."""
    out = sql.SQL("")
    for word in ("limit", "offset"):
        if word in params:
            try:
                number = int(params[word])
            except ValueError as exc:
                raise PostgrestError(400, "PGRST100", f'"failed to parse {word}"') from exc
            out += sql.SQL(f" {word} ") + sql.Literal(number)
    return out


def as_json(inner: sql.Composable) -> sql.Composable:
    """Wrap a row source so PostgreSQL returns it as one JSON array text, as PostgREST does."""
    return sql.SQL(
        "with pgrst_source as ({}) select coalesce(json_agg(_t), '[]')::text"
        " from (select * from pgrst_source) _t"
    ).format(inner)
