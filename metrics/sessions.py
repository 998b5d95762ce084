"""Web sessions, derived once and kept up to date in the bot's state schema.

A session belongs to one stitched key (metrics.identity) and one calendar day of the report time
zone: a new one starts after more than `session_timeout_minutes` without events (exactly the
timeout stays), at local midnight, and when an event brings a campaign source different from the
session's. An event's campaign source is its UTM tuple (lower-cased) when it has any UTM value,
else the host of a referrer from another site, else none: a direct hit, which never breaks a
session. A referrer whose host is the page's own host (ignoring "www.") or one of
`internal_hosts` is not a source.

Because sessions never cross midnight, the sessions of (key, day) depend only on that key's
events of that day. The incremental update uses that: new web_events rows (id above the
watermark) mark their (key, day) pairs, a device whose link changed marks every day of its events
under both its old and its new key, and only those pairs are recomputed. Midnight depends on the
time zone, so the store keeps one scope per (source schema, time zone, timeout, internal hosts).
Rows are ordered by (happened_at, id) everywhere, so ties break the same way in every run.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import AttributionConfig
from metrics.identity import apply_link_changes_sql, key_sql, latest_links_sql, link_changes_sql

SESSION_COLUMNS = (
    "skey, user_id, local_day, first_event_id, started_at, ended_at, events, "
    "ch_source, ch_medium, utm_campaign"
)
_RAW = (
    "w.id, w.happened_at::timestamptz as ts, w.page_url, w.referrer, "
    "w.utm_source, w.utm_medium, w.utm_campaign, w.utm_content, w.utm_term"
)


def scope_name(src: Source, cfg: AttributionConfig, tz: str) -> str:
    hosts = ",".join(sorted(cfg.internal_hosts))
    return f"{src.schema}|{tz}|{cfg.session_timeout_minutes}|{hosts}"


def _host(expr: str) -> str:
    """Lower-case host of an absolute URL, without user info, port or a leading 'www.'; null when
    there is none. split_part instead of one regex: 3-4x cheaper per row on a day's events."""
    authority = f"split_part(split_part(split_part(split_part(lower({expr}), '://', 2), '/', 1), '?', 1), '#', 1)"
    host = f"split_part(regexp_replace({authority}, '^.*@', ''), ':', 1)"
    return f"nullif(regexp_replace({host}, '^www\\.', ''), '')"


def _internal_regex(cfg: AttributionConfig) -> str:
    hosts = [re.sub(r"^www\.", "", h.lower()) for h in cfg.internal_hosts]
    if not hosts:
        return "^$."
    return r"(^|\.)(" + "|".join(re.escape(h) for h in hosts) + ")$"


def sessions_sql(cfg: AttributionConfig, raw_sql: str) -> str:
    """Sessions of the events that `raw_sql` selects (skey, user_id and the _RAW columns).

    `raw_sql` must return every event of each (key, local day) it touches, or none of them.
    """
    internal = _internal_regex(cfg).replace("'", "''")
    return f"""
with raw as ({raw_sql}),
parsed as materialized (
    -- materialized: the regex-heavy columns are computed once per row, not once per reference
    select r.skey, r.user_id, r.id, r.ts, (r.ts at time zone :tz)::date as local_day,
           nullif(lower(btrim(r.utm_source)), '') as u_source,
           nullif(lower(btrim(r.utm_medium)), '') as u_medium,
           nullif(lower(btrim(r.utm_campaign)), '') as u_campaign,
           nullif(lower(btrim(r.utm_content)), '') as u_content,
           nullif(lower(btrim(r.utm_term)), '') as u_term,
           {_host("r.referrer")} as ref_host,
           {_host("r.page_url")} as page_host
    from raw r
),
external as materialized (
    select q.*,
           case when q.ref_host <> '' and q.ref_host is distinct from q.page_host
                 and q.ref_host !~ '{internal}' then q.ref_host end as ext_host
    from parsed q
),
sourced as (
    select p.*,
           case when coalesce(p.u_source, p.u_medium, p.u_campaign, p.u_content, p.u_term) is not null
                then concat_ws(chr(31), 'utm', p.u_source, p.u_medium, p.u_campaign, p.u_content, p.u_term)
                when p.ext_host is not null then 'ref' || chr(31) || p.ext_host
           end as src_key,
           case when coalesce(p.u_source, p.u_medium, p.u_campaign, p.u_content, p.u_term) is not null
                then p.u_source else p.ext_host end as ch_source,
           case when coalesce(p.u_source, p.u_medium, p.u_campaign, p.u_content, p.u_term) is not null
                then p.u_medium when p.ext_host is not null then 'referral' end as ch_medium
    from external p
),
visits_marked as (
    -- a visit ends at an idle gap longer than the timeout or at local midnight
    select s.*,
           case when lag(s.ts) over w is null
                  or s.ts - lag(s.ts) over w > make_interval(mins => :timeout)
                  or s.local_day <> lag(s.local_day) over w then 1 else 0 end as new_visit
    from sourced s
    window w as (partition by s.skey order by s.ts, s.id)
),
visits as (
    select v.*, sum(v.new_visit) over (partition by v.skey order by v.ts, v.id) as visit
    from visits_marked v
),
sessions_marked as (
    -- inside a visit, the session's source is the last non-direct source seen so far; an event
    -- with another source starts a session, a direct hit never does
    select v.*,
           case when v.new_visit = 1 then 1
                when v.src_key is not null and v.src_key is distinct from lag(v.src_key) over (
                    partition by v.skey, v.visit, v.src_key is null order by v.ts, v.id) then 1
                else 0 end as new_session
    from visits v
),
numbered as (
    select m.*, sum(m.new_session) over (partition by m.skey order by m.ts, m.id) as session_no
    from sessions_marked m
),
sized as (
    select n.*, max(n.ts) over s as ended_at, count(*) over s as events
    from numbered n
    window s as (partition by n.skey, n.session_no)
)
select f.skey, f.user_id, f.local_day, f.id as first_event_id, f.ts as started_at,
       f.ended_at, f.events, f.ch_source, f.ch_medium, f.u_campaign as utm_campaign
from sized f
where f.new_session = 1
"""


def _state(src: Source, table: str) -> str:
    return f'"{src.state_schema}".{table}'


def _full_raw_sql(src: Source) -> str:
    return f"""
    select {key_sql("coalesce(l.user_id, w.user_id)", "w.anonymous_id")} as skey,
           coalesce(l.user_id, w.user_id) as user_id, {_RAW}
    from {src.table('web_events')} w
    left join {_state(src, 'attribution_links')} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
    where w.id <= :high and (w.anonymous_id is not null or w.user_id is not null)
    """


def _affected_raw_sql(src: Source) -> str:
    """Every event of the (key, day) pairs in _affected, under the current links."""
    web, links = src.table("web_events"), _state(src, "attribution_links")
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
    select p.skey, p.uid as user_id, {_RAW}
    from pairs p
    join {web} w on w.user_id = p.uid and {in_day}
    left join {links} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
    where p.uid is not null and (l.user_id is null or l.user_id = p.uid)
    union all
    -- rows of the user's devices that carry no user_id or another one; a lateral probe of the
    -- (anonymous_id, happened_at) index per device and day (offset 0 keeps it a probe: as a
    -- plain join the planner was seen to scan all of web_events, which grows with history)
    select p.skey, p.uid, {_RAW}
    from pairs p
    join {links} l on l.scope = :scope and l.user_id = p.uid
    cross join lateral (
        select w.* from {web} w
        where w.anonymous_id = l.anonymous_id and {in_day} and w.user_id is distinct from p.uid
        offset 0
    ) w
    union all
    -- an unlinked device
    select p.skey, null::bigint, {_RAW}
    from pairs p
    join {web} w on w.anonymous_id = p.anon and {in_day}
    where p.anon is not null
      and not exists (select 1 from {links} l where l.scope = :scope and l.anonymous_id = p.anon)
    """


def _insert_sessions(conn: Connection, src: Source, cfg: AttributionConfig, raw_sql: str, params: dict) -> None:
    conn.execute(
        sa.text(
            f"insert into {_state(src, 'attribution_sessions')} (scope, {SESSION_COLUMNS}) "
            f"select :scope, {SESSION_COLUMNS} from ({sessions_sql(cfg, raw_sql)}) s"
        ),
        params,
    )


def _full_build(conn: Connection, src: Source, cfg: AttributionConfig, params: dict) -> None:
    for table in ("attribution_sessions", "attribution_links"):
        conn.execute(sa.text(f"delete from {_state(src, table)} where scope = :scope"), params)
    conn.execute(
        sa.text(
            f"insert into {_state(src, 'attribution_links')} (scope, anonymous_id, user_id, linked_at, row_id) "
            f"select :scope, x.* from ({latest_links_sql(src, 'w.id <= :high')}) x"
        ),
        params,
    )
    _insert_sessions(conn, src, cfg, _full_raw_sql(src), params)
    # Fresh statistics, or the next incremental update plans against a guess of an empty table
    # (seen: a merge join over the whole web_events anonymous-id index, minutes instead of 1 s).
    for table in ("attribution_links", "attribution_sessions"):
        conn.execute(sa.text(f"analyze {_state(src, table)}"))


def _incremental(conn: Connection, src: Source, cfg: AttributionConfig, params: dict) -> None:
    web, links = src.table("web_events"), _state(src, "attribution_links")
    run = lambda sql: conn.execute(sa.text(sql), params)
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
    run("analyze _affected")
    # One primary-key probe per affected pair (the lateral's offset 0 keeps the planner from a hash
    # join that would scan every stored session), then a delete by tuple id.
    sessions = _state(src, "attribution_sessions")
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


def update_sessions(conn: Connection, src: Source, cfg: AttributionConfig, tz: str) -> str:
    """Bring the scope's sessions up to the newest web_events row; returns the scope name.

    Runs in the caller's transaction; an advisory lock keeps two updaters of a scope apart.
    """
    scope = scope_name(src, cfg, tz)
    scopes = _state(src, "attribution_scopes")
    conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:scope))"), {"scope": scope})
    conn.execute(sa.text(f"insert into {scopes} (scope) values (:scope) on conflict do nothing"), {"scope": scope})
    low = conn.execute(sa.text(f"select last_event_id from {scopes} where scope = :scope"), {"scope": scope}).scalar_one()
    high = conn.execute(sa.text(f"select coalesce(max(id), 0) from {src.table('web_events')}")).scalar_one()
    if high <= low:
        return scope
    params = {"scope": scope, "tz": tz, "timeout": cfg.session_timeout_minutes, "low": low, "high": high}
    (_full_build if low == 0 else _incremental)(conn, src, cfg, params)
    conn.execute(
        sa.text(f"update {scopes} set last_event_id = :high, updated_at = now() where scope = :scope"), params
    )
    return scope


def rebuild_sessions(conn: Connection, src: Source, cfg: AttributionConfig, tz: str) -> str:
    """Forget the scope and build it from all of web_events (the reference the tests compare to)."""
    scope = scope_name(src, cfg, tz)
    conn.execute(
        sa.text(f"update {_state(src, 'attribution_scopes')} set last_event_id = 0 where scope = :scope"),
        {"scope": scope},
    )
    return update_sessions(conn, src, cfg, tz)
