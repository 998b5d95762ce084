"""Read-only catalog look-ups about one source relation, for `salespulse check`.

Every query here is cheap on a table of any size: the catalog, the planner's row estimate, and the
ends of an index (`order by ... limit 1`), never a scan of a big table.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import KINDS
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


@dataclass(frozen=True)
class Stored:
    """A relation that holds rows: a table, a partitioned table, a materialized view."""

    schema: str
    name: str
    kind: str  # db.source.KINDS


def stored_under(conn: Connection, schema: str, name: str) -> list[Stored]:
    """The relations whose rows a source relation reads: itself when it stores rows, else the
    tables, partitioned tables, materialized views and foreign tables under its view, through
    views over views (each view's rewrite rule depends on what it reads)."""
    rows = conn.execute(sa.text("""
with recursive under(oid) as (
    select cast(:oid as oid)
    union
    select d.refobjid
    from under u
    join pg_rewrite r on r.ev_class = u.oid
    join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
                    and d.refclassid = 'pg_class'::regclass and d.refobjid <> u.oid
)
select n.nspname, c.relname, c.relkind
from under u join pg_class c on c.oid = u.oid join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'm', 'f')
order by 1, 2"""), {"oid": _oid(conn, schema, name)})
    return [Stored(s, n, KINDS[k]) for s, n, k in rows]


def analyzed(conn: Connection, schema: str, name: str) -> bool:
    """Whether the planner has statistics about a stored relation. Never analyzed: no ANALYZE
    recorded and no column statistics (pg_stats survives a reset of the activity counters), or
    reltuples = -1 (never vacuumed nor analyzed). An empty relation needs none. A partitioned
    table needs every non-empty partition's and its own (inherited ones, for the estimates above
    its partitions), which autovacuum never gathers."""
    return bool(conn.execute(sa.text("""
with rels as (
    select c.relkind = 'p' as parent, c.relkind <> 'p' and pg_relation_size(c.oid) = 0 as empty, c.reltuples,
           (s.last_analyze is not null or s.last_autoanalyze is not null
            or exists (select 1 from pg_stats x where x.schemaname = n.nspname and x.tablename = c.relname
                       and x.inherited = (c.relkind = 'p'))) as has_stats
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_stat_all_tables s on s.relid = c.oid
    where c.oid = cast(:oid as oid)
       or c.oid in (select relid from pg_partition_tree(cast(:oid as oid)) where isleaf)
)
select coalesce(bool_and(reltuples >= 0 and has_stats) filter (where not parent and not empty), true)
   and (coalesce(bool_and(has_stats) filter (where parent), true)
        or coalesce(bool_and(empty) filter (where not parent), true))
from rels"""), {"oid": _any_oid(conn, schema, name)}).scalar_one())


def partition_root(conn: Connection, schema: str, name: str) -> tuple[str, str, bool]:
    """(schema, name, partitioned) of the table a relation belongs to: a partition's root
    partitioned table, else the relation itself."""
    row = conn.execute(sa.text("""
select n.nspname, c.relname, c.relkind = 'p'
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.oid = coalesce(pg_partition_root(cast(:oid as oid)), cast(:oid as oid))"""),
        {"oid": _any_oid(conn, schema, name)}).one()
    return row[0], row[1], bool(row[2])


def _any_oid(conn: Connection, schema: str, name: str) -> int:
    """A relation's oid, a partition's too (a view may read one directly)."""
    return conn.execute(sa.text("select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                                "where n.nspname = :s and c.relname = :t"), {"s": schema, "t": name}).scalar_one()


def relation_bytes(conn: Connection, schema: str, name: str) -> int:
    """The relation's main fork on disk now (not the planner's last estimate)."""
    return int(conn.execute(sa.text("select pg_relation_size(cast(:oid as oid))"),
                            {"oid": _any_oid(conn, schema, name)}).scalar_one())


def leading_keys(conn: Connection, schema: str, name: str) -> dict[str, str]:
    """index name -> its first key column or expression, as EXPLAIN prints one (a partition's own
    indexes too): an index serves a probe whose condition is on that key."""
    rows = conn.execute(sa.text("select c.relname, pg_get_indexdef(i.indexrelid, 1, false) from pg_index i "
                                "join pg_class c on c.oid = i.indexrelid where i.indrelid = cast(:oid as oid) "
                                "and i.indisvalid order by 1"), {"oid": _any_oid(conn, schema, name)})
    return {n: key for n, key in rows}
