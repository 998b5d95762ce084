"""Read-only catalog look-ups about one source relation, for `salespulse check`.

Every query here is cheap on a table of any size: the catalog, the planner's row estimate, and the
ends of an index (`order by ... limit 1`), never a scan of a big table.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.sql import quote

# Below this many estimated rows an exact count is cheap; above it the estimate is the answer.
EXACT_COUNT_BELOW = 1_000_000


@dataclass(frozen=True)
class IndexInfo:
    name: str
    columns: tuple[str, ...]  # key columns in order (expressions as Postgres prints them)
    on: str  # name of the relation it belongs to (the parent, or a partition)


@dataclass(frozen=True)
class RowCount:
    rows: int
    exact: bool
    at_least: bool = False  # a view or unanalysed table counted up to a cap


def _oid(conn: Connection, schema: str, name: str) -> int:
    return conn.execute(
        sa.text("select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = :s and c.relname = :t and not c.relispartition"),
        {"s": schema, "t": name},
    ).scalar_one()


def columns(conn: Connection, schema: str, name: str) -> dict[str, str]:
    """column -> type name (a domain is read as its base type)."""
    rows = conn.execute(
        sa.text("""
select a.attname, case when t.typtype = 'd' then b.typname else t.typname end
from pg_attribute a
join pg_type t on t.oid = a.atttypid
left join pg_type b on b.oid = t.typbasetype
where a.attrelid = :oid and a.attnum > 0 and not a.attisdropped
order by a.attnum"""),
        {"oid": _oid(conn, schema, name)},
    )
    return {col: typ for col, typ in rows}


def partitions(conn: Connection, schema: str, name: str) -> list[str]:
    """The leaf partitions of a partitioned table (empty for anything else)."""
    rows = conn.execute(
        sa.text("select c.relname from pg_partition_tree(:oid) p join pg_class c on c.oid = p.relid where p.isleaf and p.level > 0"),
        {"oid": _oid(conn, schema, name)},
    )
    return [r[0] for r in rows]


def indexes(conn: Connection, schema: str, name: str) -> list[IndexInfo]:
    """Valid indexes of the relation and of each of its partitions."""
    rows = conn.execute(
        sa.text("""
select ic.relname,
       array(select pg_get_indexdef(i.indexrelid, k + 1, true)
             from generate_series(0, i.indnkeyatts - 1) k order by k),
       tc.relname
from (select cast(:oid as oid) as relid union select relid from pg_partition_tree(:oid)) p
join pg_index i on i.indrelid = p.relid
join pg_class ic on ic.oid = i.indexrelid
join pg_class tc on tc.oid = i.indrelid
where i.indisvalid or ic.relkind = 'I'"""),
        {"oid": _oid(conn, schema, name)},
    )
    return [IndexInfo(n, tuple(c.strip('"') for c in cols), on) for n, cols, on in rows]


def row_count(conn: Connection, qualified: str, schema: str, name: str, kind: str) -> RowCount:
    if kind in ("table", "partitioned table", "materialized view"):
        estimate = conn.execute(
            # pg_partition_tree is empty for a plain table; a partitioned parent has no rows itself.
            sa.text("select sum(greatest(c.reltuples, 0))::bigint, bool_and(c.reltuples >= 0) "
                    "from (select cast(:oid as oid) as relid union select relid from pg_partition_tree(:oid) "
                    "where isleaf) p join pg_class c on c.oid = p.relid and c.relkind <> 'p'"),
            {"oid": _oid(conn, schema, name)},
        ).one()
        if estimate[1] and (estimate[0] or 0) >= EXACT_COUNT_BELOW:
            return RowCount(int(estimate[0]), exact=False)
    n = conn.execute(
        sa.text(f"select count(*) from (select 1 from {qualified} limit :cap) x"),
        {"cap": EXACT_COUNT_BELOW + 1},
    ).scalar_one()
    return RowCount(min(n, EXACT_COUNT_BELOW), exact=n <= EXACT_COUNT_BELOW, at_least=n > EXACT_COUNT_BELOW)


def coverage(conn: Connection, qualified: str, column: str) -> tuple[datetime | None, datetime | None]:
    """First and last value of the time column, each from one end of its index."""
    col = quote(column, "column")
    row = conn.execute(sa.text(
        f"select (select {col} from {qualified} where {col} is not null order by {col} limit 1), "
        f"(select {col} from {qualified} where {col} is not null order by {col} desc limit 1)"
    )).one()
    return row[0], row[1]


def event_names(conn: Connection, qualified: str, limit: int = 200_000) -> list[str]:
    rows = conn.execute(sa.text(f"select distinct description from {qualified} limit :n"), {"n": limit})
    return [r[0] for r in rows if r[0] is not None]
