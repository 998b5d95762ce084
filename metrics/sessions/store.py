"""The store's writer: web sessions, derived per local day and kept up to date in the state schema.

A session belongs to one stitched key (metrics.sessions.identity) and one calendar day of the
report time zone (the rules are in metrics.sessions.rules). Because sessions never cross midnight, the sessions
of (key, day) depend only on that key's events of that day, so the store is built day by day:

- identity links are global: the latest link of every device over all rows up to the scope's
  watermark (attribution_scopes.last_event_id), one pass over the rows with both ids;
- a day is *built* (a row in attribution_days) when all its sessions are in the store, complete as
  of the watermark. A digest builds the days it reads first (`ensure_days`, or the backfill's
  parallel builders), the backfill the rest;
- the incremental update (rows above the watermark) recomputes only the (key, day) pairs of built
  days: new rows mark their pair, a device whose link changed marks every built day of its events
  under both its old and its new key. Unbuilt days are ignored: they are built from scratch, at the
  then-current watermark and links, when needed.

The store keeps one scope per (source schema, time zone, timeout, internal hosts): see
metrics.sessions.scope_name. Writers of a scope take its advisory lock: the watermark and link
update exclusively, a day builder (the backfill's parallel connections) shared.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import AttributionConfig
from metrics.day import local_midnight
from metrics.sessions import SessionStore, lock_key, scope_name
from metrics.sessions.frame import read_events, sessionize, write_sessions
from metrics.sessions.identity import (
    apply_link_changes_sql,
    key_sql,
    latest_links_sql,
    link_changes_sql,
)
from metrics.sessions.rules import RAW_COLUMNS, SESSION_COLUMNS, rule_params, sessions_sql


def _run(conn: Connection, sql: str, params: dict):
    return conn.execute(sa.text(sql), params)


def _keyed_sql(src: Source) -> str:
    """Every event in [:lo, :hi) up to the watermark, with its stitched key under the links."""
    return f"""
    select coalesce(l.user_id, w.user_id) as k_user,
           case when l.user_id is null and w.user_id is null then w.anonymous_id end as k_anon,
           {RAW_COLUMNS}
    from {src.table('web_events')} w
    left join {src.state_table("attribution_links")} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
    where w.happened_at >= :lo and w.happened_at < :hi and w.id <= :high
      and (w.anonymous_id is not null or w.user_id is not null)
    """


def _affected_raw_sql(src: Source) -> str:
    """Every event of the (key, day) pairs in _affected, under the current links."""
    web, links = src.table("web_events"), src.state_table("attribution_links")
    in_day = "w.happened_at >= p.day_start and w.happened_at < p.day_end and w.id <= :high"
    return f"""
    with pairs as (
        select distinct a.skey, a.local_day,
               (a.local_day::timestamp at time zone :tz) as day_start,
               ((a.local_day + 1)::timestamp at time zone :tz) as day_end,
               case when a.skey like 'u:%' then substr(a.skey, 3)::bigint end as uid,
               case when a.skey like 'a:%' then substr(a.skey, 3) end as anon
        from _affected a
    )
    -- the user's own rows, unless their device now belongs to another user
    select p.uid as k_user, null::text as k_anon, {RAW_COLUMNS}
    from pairs p
    join {web} w on w.user_id = p.uid and {in_day}
    left join {links} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
    where p.uid is not null and (l.user_id is null or l.user_id = p.uid)
    union all
    -- rows of the user's devices that carry no user_id or another one; a lateral probe of the
    -- (anonymous_id, happened_at) index per device and day (offset 0 keeps it a probe: as a
    -- plain join the planner was seen to scan all of web_events, which grows with history)
    select p.uid, null::text, {RAW_COLUMNS}
    from pairs p
    join {links} l on l.scope = :scope and l.user_id = p.uid
    cross join lateral (
        select w.* from {web} w
        where w.anonymous_id = l.anonymous_id and {in_day} and w.user_id is distinct from p.uid
        offset 0
    ) w
    union all
    -- an unlinked device
    select null::bigint, p.anon, {RAW_COLUMNS}
    from pairs p
    join {web} w on w.anonymous_id = p.anon and {in_day}
    where p.anon is not null
      and not exists (select 1 from {links} l where l.scope = :scope and l.anonymous_id = p.anon)
    """


def _insert_sessions(conn: Connection, src: Source, cfg: AttributionConfig, raw_sql: str, params: dict) -> int:
    """Insert the sessions of `raw_sql`'s events; returns how many events they hold."""
    return int(_run(conn, f"""
        with inserted as (
            insert into {src.state_table("attribution_sessions")} (scope, {SESSION_COLUMNS})
            select :scope, {SESSION_COLUMNS} from ({sessions_sql(cfg, raw_sql)}) s
            returning events
        )
        select coalesce(sum(events), 0) from inserted
        """, params).scalar_one())


def reset_scope(conn: Connection, src: Source, links_sql: str, params: dict) -> None:
    """A new (or forgotten) scope (params' :scope): no day built, its links those `links_sql`
    selects (anonymous_id, user_id, linked_at, row_id). The Postgres builder and the Spark
    publisher both start here."""
    for table in ("attribution_sessions", "attribution_links", "attribution_days"):
        _run(conn, f"delete from {src.state_table(table)} where scope = :scope", params)
    _run(conn, f"insert into {src.state_table('attribution_links')} (scope, anonymous_id, user_id, linked_at, row_id) "
               f"select :scope, x.* from ({links_sql}) x", params)
    # Fresh statistics, or the next incremental update plans against a guess of an empty table
    # (seen: a merge join over the whole web_events anonymous-id index, minutes instead of 1 s).
    _run(conn, f"analyze {src.state_table('attribution_links')}", {})


def mark_built(conn: Connection, src: Source, scope: str, first: date, last: date) -> None:
    """The days [first, last] of the scope are built: every session of them is in the store."""
    _run(conn, f"insert into {src.state_table('attribution_days')} (scope, local_day) "
               f"select :scope, d::date from generate_series(cast(:first as date), cast(:last as date), interval '1 day') d",
         {"scope": scope, "first": first, "last": last})


def _incremental(conn: Connection, src: Source, cfg: AttributionConfig, params: dict) -> None:
    web, links, days = src.table("web_events"), src.state_table("attribution_links"), src.state_table("attribution_days")
    run = lambda sql: _run(conn, sql, params)
    run("drop table if exists _link_changes; drop table if exists _affected")
    run(link_changes_sql(src))
    # A device that changed hands: every day of its events, under its old key ...
    run(f"""
    create temp table _affected as
    select distinct {key_sql("c.old_user_id", "c.anonymous_id")} as skey,
           (w.happened_at::timestamptz at time zone :tz)::date as local_day
    from _link_changes c
    join {web} w on w.anonymous_id = c.anonymous_id and w.id <= :high
    where c.old_user_id is distinct from c.user_id
    """)
    run(f"""
    insert into _affected
    select distinct 'u:' || c.user_id, (w.happened_at::timestamptz at time zone :tz)::date
    from _link_changes c
    join {web} w on w.anonymous_id = c.anonymous_id and w.id <= :high
    where c.old_user_id is distinct from c.user_id
    """)
    run(apply_link_changes_sql(src))
    # ... and the (key, day) of every new row, under the links as they are now.
    run(f"""
    insert into _affected
    select distinct {key_sql("coalesce(l.user_id, w.user_id)", "w.anonymous_id")},
           (w.happened_at::timestamptz at time zone :tz)::date
    from {web} w
    left join {links} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
    where w.id > :low and w.id <= :high and (w.anonymous_id is not null or w.user_id is not null)
    """)
    # Only built days are kept up to date; an unbuilt day is built whole when it is needed.
    run(f"delete from _affected a where not exists (select 1 from {days} d "
        f"where d.scope = :scope and d.local_day = a.local_day)")
    run("analyze _affected")
    # One primary-key probe per affected pair (the lateral's offset 0 keeps the planner from a hash
    # join that would scan every stored session), then a delete by tuple id.
    sessions = src.state_table("attribution_sessions")
    run(f"""
    delete from {sessions} s
    where s.ctid = any(array(
        select x.ctid
        from (select distinct skey, local_day from _affected) a
        cross join lateral (
            select z.ctid from {sessions} z
            where z.scope = :scope and z.skey = a.skey and z.local_day = a.local_day
            offset 0
        ) x
    ))
    """)
    _insert_sessions(conn, src, cfg, _affected_raw_sql(src), params)
    run("drop table _link_changes; drop table _affected")


def sync_scope(conn: Connection, src: Source, cfg: AttributionConfig, tz: str) -> tuple[str, int]:
    """Bring the scope's links and built days up to the newest web_events row, in the caller's
    transaction (holding the scope's lock until it ends); returns (scope, watermark)."""
    scope = scope_name(src, cfg, tz)
    scopes = src.state_table("attribution_scopes")
    _run(conn, "select pg_advisory_xact_lock(hashtext(:key))", {"key": lock_key(src, scope)})
    _run(conn, f"insert into {scopes} (scope) values (:scope) on conflict do nothing", {"scope": scope})
    low = _run(conn, f"select last_event_id from {scopes} where scope = :scope", {"scope": scope}).scalar_one()
    high = _run(conn, f"select coalesce(max(id), 0) from {src.table('web_events')}", {}).scalar_one()
    if high <= low:
        return scope, low
    params = {"scope": scope, "tz": tz, "low": low, "high": high} | rule_params(cfg)
    if low == 0:
        reset_scope(conn, src, latest_links_sql(src, "w.id <= :high"), params)
    else:
        _incremental(conn, src, cfg, params)
    _run(conn, f"update {scopes} set last_event_id = :high, updated_at = now() where scope = :scope", params)
    return scope, high


def runs(days: list[date], max_days: int = 10**6) -> list[tuple[date, date]]:
    """Consecutive days as [first, last] runs of at most max_days each (days sorted, distinct)."""
    out: list[tuple[date, date]] = []
    for d in days:
        if out and d == out[-1][1] + timedelta(days=1) and (d - out[-1][0]).days < max_days:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def build_run(conn: Connection, store: SessionStore, high: int, first: date, last: date) -> int:
    """Build the days [first, last] (none of them built) at watermark `high`, marking them built;
    returns how many events their sessions hold. The caller holds the scope's lock."""
    src, cfg, tz, scope = store.src, store.rules, store.tz, store.scope
    params = {"scope": scope, "tz": tz, "high": high, "first": first, "last": last} | rule_params(cfg)
    # Sessions of an unbuilt day can only be left over from an older store layout: start clean.
    _run(conn, f"delete from {src.state_table('attribution_sessions')} "
               f"where scope = :scope and local_day between :first and :last", params)
    events = 0
    # No planner setting is forced for these reads: the planner hashes all links while they are
    # few and probes the links' key once per device when they outnumber a day's rows many times,
    # so a day costs what its own rows cost, not what the history of logins does (2M links: 0.44 s
    # a day against 1.0 s with plain index scans switched off, which leaves only the hash;
    # bench/README.md).
    for i in range((last - first).days + 1):  # one day's events in memory at a time
        day = first + timedelta(days=i)
        bounds = {"lo": local_midnight(day, tz), "hi": local_midnight(day + timedelta(days=1), tz)}
        sessions = sessionize(read_events(conn, cfg, _keyed_sql(src), params | bounds), cfg.session_timeout_minutes)
        write_sessions(conn, src.state_table("attribution_sessions"), scope, sessions)
        events += int(sessions["events"].sum() or 0)
    mark_built(conn, src, scope, first, last)
    return events


def ensure_days(conn: Connection, src: Source, cfg: AttributionConfig, tz: str,
                days: Iterable[date] | None = None) -> str:
    """Sync the scope, then build the missing days among `days` (None: every day from the first
    web event to the last); returns the scope name. Runs in the caller's transaction."""
    scope, high = sync_scope(conn, src, cfg, tz)
    if days is None:
        lo, hi = _run(conn, f"select min(happened_at)::timestamptz, max(happened_at)::timestamptz "
                            f"from {src.table('web_events')}", {}).one()
        if lo is None:
            return scope
        first, last = (x.astimezone(ZoneInfo(tz)).date() for x in (lo, hi))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    store = SessionStore(src, cfg, tz)
    built = runs(store.missing_days(conn, days))
    for first, last in built:
        build_run(conn, store, high, first, last)
    if built:
        analyze_store(conn, src)
    return scope


def analyze_store(conn: Connection, src: Source) -> None:
    """Fresh statistics after days were added. Without them the planner took a store that had
    just grown from nothing for a handful of rows: a scoped report's semi-join over the window's
    sessions became a nested loop that ran for minutes instead of a second (autovacuum may be off,
    and is late anyway). ANALYZE samples a fixed number of rows, ~0.2 s on a store of millions."""
    for table in ("attribution_sessions", "attribution_days"):
        _run(conn, f"analyze {src.state_table(table)}", {})


def update_sessions(conn: Connection, src: Source, cfg: AttributionConfig, tz: str) -> str:
    """Bring the whole store up to the newest web_events row (every day built); the scope name."""
    return ensure_days(conn, src, cfg, tz)


def rebuild_sessions(conn: Connection, src: Source, cfg: AttributionConfig, tz: str) -> str:
    """Forget the scope and build it from all of web_events (the reference the tests compare to)."""
    scope = scope_name(src, cfg, tz)
    _run(conn, f"update {src.state_table('attribution_scopes')} set last_event_id = 0 where scope = :scope",
         {"scope": scope})
    return update_sessions(conn, src, cfg, tz)
