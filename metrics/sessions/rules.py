"""The sessionization query: web events in, one row per session out (docs/metrics.md).

Rules: per stitched key in time order (happened_at, then id), a new session starts after more
than the timeout without events (exactly the timeout stays), at local midnight, and when an event
brings a campaign source that differs from the last one seen in the visit; a direct hit (no
source) never breaks a session. An event's campaign source is its UTM tuple (lower-cased) when it
has any UTM value, else the host of a referrer from another site, else none. A referrer whose
host is the page's own host (ignoring "www.") or one of `internal_hosts` is not a source.

Cost: the input is sorted once per stitched key and time; every later step is a window over that
same order (Postgres reuses the sort), and host parsing runs only on rows that have a referrer.
The previous source of a visit is carried forward with a running max over "<row number><source>"
(zero-padded, C collation), which needs no second sort.
"""
from __future__ import annotations

import re

from metrics.config import AttributionConfig
from metrics.sessions.identity import key_sql

SESSION_COLUMNS = (
    "skey, user_id, local_day, first_event_id, started_at, ended_at, events, "
    "ch_source, ch_medium, utm_campaign"
)
# What a raw_sql of sessions_sql selects besides the key (k_user, k_anon); web_events alias w.
RAW_COLUMNS = (
    "w.id, w.happened_at::timestamptz as ts, w.page_url, w.referrer, "
    "w.utm_source, w.utm_medium, w.utm_campaign, w.utm_content, w.utm_term"
)


def authority_sql(expr: str) -> str:
    """The authority of an absolute URL (host and port, without user info); '' when there is none.
    A column of its own, so that host_sql reads it twice without parsing the URL twice."""
    return (f"split_part(split_part(split_part(split_part(split_part({expr}, '://', 2), '/', 1), "
            f"'?', 1), '#', 1), '@', -1)")


def host_sql(authority: str) -> str:
    """Lower-case host of an authority (authority_sql), without the port or a leading 'www.'; null
    when there is none. split_part and substr only: a regular expression per row cost ~3 us, this ~1."""
    host = f"lower(split_part({authority}, ':', 1))"
    return f"nullif(substr({host}, case when lower(left({authority}, 4)) = 'www.' then 5 else 1 end), '')"


def _internal_regex(cfg: AttributionConfig) -> str:
    hosts = [re.sub(r"^www\.", "", h.lower()) for h in cfg.internal_hosts]
    return r"(^|\.)(" + "|".join(re.escape(h) for h in hosts) + ")$"


def rule_params(cfg: AttributionConfig) -> dict:
    """The bind parameters of the session rules: configuration values, never spliced into the SQL
    text (a host such as `shop:8080` would read as a parameter `:8080` there)."""
    return {"timeout": cfg.session_timeout_minutes, "internal_rx": _internal_regex(cfg)}


_UTM = ("source", "medium", "campaign", "content", "term")


# The per-event rules below are SQL text that Postgres and Spark SQL read alike (split_part,
# substr, left, btrim, lower, nullif, concat_ws, chr, ||, case): metrics.sessions.spark_job runs the
# very same expressions, so the two engines cannot drift apart on what an event's source is.
def utm_sql(alias: str) -> list[str]:
    """The UTM values compared case-insensitively: lower-cased, trimmed, '' as none (u_<name>)."""
    return [f"nullif(lower(btrim({alias}.utm_{c})), '') as u_{c}" for c in _UTM]


def any_utm_sql(alias: str) -> str:
    return "coalesce(" + ", ".join(f"{alias}.u_{c}" for c in _UTM) + ") is not null"


def source_sql(alias: str, ext_host: str) -> list[str]:
    """src_key (what a session compares), ch_source and ch_medium (what its channel is read from)
    of an event with normalized UTM columns `alias`.u_* and its external referrer host."""
    any_utm = any_utm_sql(alias)
    return [
        (f"case when {any_utm} "
         f"then concat_ws(chr(31), 'utm', {alias}.u_source, {alias}.u_medium, {alias}.u_campaign, "
         f"{alias}.u_content, {alias}.u_term) "
         f"when {ext_host} is not null then 'ref' || chr(31) || {ext_host} end as src_key"),
        f"case when {any_utm} then {alias}.u_source else {ext_host} end as ch_source",
        f"case when {any_utm} then {alias}.u_medium when {ext_host} is not null then 'referral' end as ch_medium",
    ]


_W = "window w as (partition by {a}.k_user, {a}.k_anon order by {a}.ts, {a}.id rows between unbounded preceding and current row)"


def events_sql(cfg: AttributionConfig, raw_sql: str) -> str:
    """The per-event steps, as the head of a WITH: `sourced` holds k_user, k_anon, id, ts, local_day,
    u_campaign, src_key, ch_source and ch_medium of each event `raw_sql` selects (see sessions_sql).
    Parameters :tz and rule_params(cfg). metrics.sessions.frame runs the ordered steps on these rows outside Postgres."""
    internal = " and u.ref_host !~ :internal_rx" if cfg.internal_hosts else ""
    utm = ", ".join(utm_sql("r"))
    sources = ",\n           ".join(source_sql("u", "x.ext_host"))
    return f"""
with raw as ({raw_sql}),
normalized as (
    -- UTM values compared case-insensitively
    -- (offset 0, here and below: computed once per row, not once per later reference)
    select r.k_user, r.k_anon, r.id, r.ts, (r.ts at time zone :tz)::date as local_day, {utm},
           r.referrer, r.page_url
    from raw r
    offset 0
),
parsed as (
    -- only an event without UTM values reads its referrer (with them, the UTM tuple is the
    -- source); each URL's authority parsed once, the page's only where there is a referrer
    select n.*, case when not ({any_utm_sql("n")}) then {authority_sql("n.referrer")} end as ref_auth,
           case when not ({any_utm_sql("n")}) and n.referrer is not null
                then {authority_sql("n.page_url")} end as page_auth
    from normalized n
    offset 0
),
hosted as (
    -- the hosts of the referrer and of its page; an identical authority (most referrers: a
    -- navigation inside the site) needs no host to know it is not external
    select p.*,
           case when p.ref_auth is distinct from p.page_auth then {host_sql("p.ref_auth")} end as ref_host,
           case when p.ref_auth is distinct from p.page_auth then {host_sql("p.page_auth")} end as page_host
    from parsed p
    offset 0
),
sourced as (
    -- the event's campaign source: its UTM tuple, else an external referrer's host, else none
    select u.k_user, u.k_anon, u.id, u.ts, u.local_day, u.u_campaign,
           {sources}
    from hosted u
    cross join lateral (
        select case when u.ref_host is distinct from u.page_host{internal}
                    then u.ref_host end as ext_host
    ) x
    offset 0
)"""


def sessions_sql(cfg: AttributionConfig, raw_sql: str) -> str:
    """Sessions of the events that `raw_sql` selects: k_user (the stitched user or null), k_anon
    (the device when k_user is null, else null) and RAW_COLUMNS. Parameters :tz and rule_params(cfg).

    `raw_sql` must return every event of each (key, local day) it touches, or none of them.
    """
    return f"""{events_sql(cfg, raw_sql)},
ordered as (
    -- the one sort: each key's events in time order
    select s.*, row_number() over w as rn, lag(s.ts) over w as prev_ts, lag(s.local_day) over w as prev_day
    from sourced s
    {_W.format(a="s")}
),
visits as (
    -- a visit ends at an idle gap longer than the timeout or at local midnight
    select o.*,
           (o.prev_ts is null or o.ts - o.prev_ts > make_interval(mins => :timeout)
            or o.local_day <> o.prev_day) as new_visit
    from ordered o
),
carried as (
    -- where the current visit started, and the last source seen before this event (its row number
    -- zero-padded in front, so that a running max carries it forward)
    select v.*,
           max(case when v.new_visit then v.rn end) over w as visit_rn,
           max(case when v.src_key is not null then lpad(v.rn::text, 10, '0') || v.src_key end collate "C")
               over (partition by v.k_user, v.k_anon order by v.ts, v.id
                     rows between unbounded preceding and 1 preceding) as last_src
    from visits v
    {_W.format(a="v")}
),
starts as (
    -- a session starts with a visit, or with a source other than the visit's last one
    select c.*,
           (c.new_visit or (c.src_key is not null and (
               c.last_src is null or substr(c.last_src, 1, 10)::bigint < c.visit_rn
               or substr(c.last_src, 11) <> c.src_key))) as new_session
    from carried c
),
bounds as (
    -- only each session's first and last events are needed from here on
    select b.* from (
        select s.*, coalesce(lead(s.new_session) over w, true) as last_of_session
        from starts s
        {_W.format(a="s")}
    ) b
    where b.new_session or b.last_of_session
),
sized as (
    select b.*,
           case when b.last_of_session then b.ts else lead(b.ts) over w end as ended_at,
           case when b.last_of_session then 1 else lead(b.rn) over w - b.rn + 1 end as events
    from bounds b
    {_W.format(a="b")}
)
select {key_sql("f.k_user", "f.k_anon")} as skey, f.k_user as user_id, f.local_day,
       f.id as first_event_id, f.ts as started_at, f.ended_at, f.events::int as events,
       f.ch_source, f.ch_medium, f.u_campaign as utm_campaign
from sized f
where f.new_session
"""
