"""Late rows: the first kept day of a baseline store that rows arrived since could have changed.

A source table's `id` increases with insertion (the data contract says so of web_events, whose
session store relies on it; the others' bigserial ids do the same). A store keeps, per metric
and table, the highest id its kept days have seen (table baseline_marks); a digest reads the rows above it (a
primary-key range: the day's arrivals) and their earliest time. A day a late row falls on, and
every day after it, may have moved: a late payment can make a later payer no longer new, a late
close ends a breach, a late touch re-ranks the payments of the next 24 h. The day before it too: a
campaign click just before midnight is proven human by a web event just after. A late event of an
experiment flow excludes its user from every day. Those days are computed afresh like the lacking
ones. A table without an `id` column cannot say when a row arrived: its late rows reach the
numbers only within the RECENT_DAYS the store always recomputes (metrics.baselines.store). The
session store's days are marked alike by their built_at: a day kept without numbers because it
was not built goes back when it is. Not seen: a login that re-keys a device's sessions of older
days to a user of an experiment flow or outside a scope (the sessions' count of those days moves).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import TIME_COLUMNS, Source

BUILT = "attribution_days"  # the session store's built days (a state table), marked by built_at


@dataclass(frozen=True)
class Marks:
    stale_from: date | None  # the first day to compute again (None: no late rows)
    seen: dict[str, int]     # table -> its highest id now, kept once the store is brought up to date


def _id_tables(conn: Connection, src: Source) -> list[str]:
    """The source tables with a time axis and an integer `id` column (views included; a text or
    uuid id says nothing about arrival order)."""
    names = [t for t in TIME_COLUMNS if src.has(t)]
    rows = conn.execute(sa.text(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "join pg_attribute a on a.attrelid = c.oid and a.attname = 'id' and not a.attisdropped "
        "and a.atttypid = any(array['smallint', 'integer', 'bigint']::regtype[]) "
        "where n.nspname = :schema and c.relname = any(:names)"), {"schema": src.schema, "names": names})
    return sorted(r[0] for r in rows)


def late_rows(conn: Connection, src: Source, keys: list[str], first: date, tz,
              excluded_ids: list[int]) -> dict[str, Marks]:
    """Per mark key (a store's metric: each is brought up to date in its own call, the slices and
    the pace's only on some days), the first day of D-84 ... D (`first` is D-84) that rows arrived
    since may have changed, and the ids to mark. A key never marked: every day. The rows above a
    mark are read once for all the keys that share it (the usual case)."""
    marks: dict[str, dict[str, int]] = {k: {} for k in keys}
    for key, table, top in conn.execute(sa.text(
            f"select store, source_table, max_id from {src.state_table('baseline_marks')} where store = any(:keys)"),
            {"keys": keys}):
        marks[key][table] = top
    above = _memo(lambda table, mark: _above(conn, src, table, mark, excluded_ids))
    built = _memo(lambda _table, mark: _built_days(conn, src, mark))
    tables = _id_tables(conn, src)
    out = {}
    for key, mine in marks.items():
        seen: dict[str, int] = {}
        stale: list[date] = []
        for table in tables:
            top, earliest, exclusion = above(table, mine.get(table))
            seen[table] = top
            if table not in mine or exclusion:  # nothing says which rows the kept days saw
                stale.append(first)
            elif earliest is not None:
                stale.append(earliest.astimezone(tz).date() - timedelta(days=1))
        days = built(BUILT, mine.get(BUILT, -1))
        if days is not None:
            seen[BUILT], since = days
            if BUILT not in mine:
                stale.append(first)
            elif since is not None:
                stale.append(since)
        out[key] = Marks(min(stale, default=None), seen)
    return out


def _memo(fn):
    cache: dict = {}
    return lambda *args: cache[args] if args in cache else cache.setdefault(args, fn(*args))


def _above(conn: Connection, src: Source, table: str, mark: int | None, excluded_ids: list[int]):
    """(the table's highest id, the earliest time above `mark`, whether an experiment event is
    among them); without a mark only the highest id."""
    if mark is None:
        top = conn.execute(sa.text(f"select max(id) from {src.table(table)}")).scalar()
        return (-1 if top is None else int(top)), None, False
    col = TIME_COLUMNS[table]
    excluded = "bool_or(r.event_id = any(:ids))" if table == "events" else "false"
    # `offset 0` keeps the scan on the id range: min(time) alone lets the planner walk the time
    # index from history's first row until it meets a new id (15-30 s on src180's web events,
    # against 60 ms for a day's 117k arrivals by the primary key)
    top, earliest, exclusion = conn.execute(sa.text(
        f"select max(r.id), min(r.{col})::timestamptz, {excluded} "
        f"from (select * from {src.table(table)} where id > :mark offset 0) r"),
        {"mark": mark, "ids": excluded_ids or [-1]}).one()
    return (mark if top is None else int(top)), earliest, bool(exclusion)


def _built_days(conn: Connection, src: Source, mark: int) -> tuple[int, date | None] | None:
    """The session days built since `mark` (microseconds of their built_at): the mark to keep and
    the first such day. A day the session store had not built was kept without numbers; built
    since, it has some. None without a session store."""
    table = src.state_table("attribution_days")
    if conn.execute(sa.text("select to_regclass(:t)"), {"t": table}).scalar() is None:
        return None
    us = "(extract(epoch from built_at) * 1000000)::bigint"
    top, since = conn.execute(sa.text(f"select max({us}), min(local_day) from {table} where {us} > :mark"),
                              {"mark": mark}).one()
    return (mark if top is None else int(top)), since


def keep_marks(conn: Connection, src: Source, store: str, marks: Marks) -> None:
    if marks.seen:
        conn.execute(sa.text(
            f"insert into {src.state_table('baseline_marks')} (store, source_table, max_id) "
            "values (:store, :table, :id) on conflict (store, source_table) do update set max_id = excluded.max_id"),
            [{"store": store, "table": t, "id": i} for t, i in marks.seen.items()])
