"""Per user, the channels of their sessions before the cutoff T: the first touch of a cohort (the
funnel's breakdown by acquisition channel, `user_channel`) and every touch a journey report needs
(`user_touches`). Bounded by the users asked for, read from the session store (metrics.sessions)
and web_events; nothing here writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.attribution import store
from metrics.channels import PAID_CHANNELS, channel_params, channel_sql
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.sessions.rules import RAW_COLUMNS, rule_params, sessions_sql


@dataclass(frozen=True)
class UserTouches:
    user_id: int
    first_touch: str | None  # channel of the user's first session before T
    last_touch: str | None
    first_paid_touch: str | None  # first session of a paid channel (Paid Search/Social, Display)
    last_paid_touch: str | None
    first_payment_at: datetime | None
    sessions_before_first_payment: int | None  # None: no payment before T
    sessions: int  # all sessions before T


def _channel(cfg: MetricConfig) -> str:
    return channel_sql(cfg.attribution, "s.ch_source", "s.ch_medium")


def _touches_sql(src: Source, cfg: MetricConfig) -> str:
    sessions = src.state_table("attribution_sessions")
    paid = ", ".join(f"'{c}'" for c in PAID_CHANNELS)
    return f"""
with users as (
    select u.user_id,
           (select min(p.transaction_created_at::timestamptz) from {src.table('payments')} p
            where p.user_id = u.user_id and p.amount > 0 and p.transaction_created_at < :end) as first_paid_at
    from unnest(cast(:user_ids as bigint[])) as u(user_id)
),
touches as (
    select s.user_id, s.started_at, s.first_event_id, {_channel(cfg)} as channel
    from {sessions} s
    where s.scope = :scope and s.user_id = any(:user_ids) and s.started_at < :end
)
select u.user_id,
       (array_agg(t.channel order by t.started_at, t.first_event_id))[1],
       (array_agg(t.channel order by t.started_at desc, t.first_event_id desc))[1],
       (array_agg(t.channel order by t.started_at, t.first_event_id) filter (where t.channel in ({paid})))[1],
       (array_agg(t.channel order by t.started_at desc, t.first_event_id desc)
            filter (where t.channel in ({paid})))[1],
       u.first_paid_at,
       count(t.started_at) filter (where t.started_at < u.first_paid_at),
       count(t.started_at)
from users u
left join touches t on t.user_id = u.user_id
group by u.user_id, u.first_paid_at
"""


def user_touches(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, user_ids: list[int]
) -> dict[int, UserTouches]:
    """Per user (a bounded cohort): first/last touch, first/last paid touch and the sessions
    before the first payment, all as of the cutoff T of `day`. Users without sessions get Nones.

    These read the users' whole history, so every day of the store must be built (the backfill's
    work); the funnel uses the cheaper `user_channel`."""
    if not user_ids:
        return {}
    scope = store(src, cfg, day).scope
    rows = conn.execute(
        sa.text(_touches_sql(src, cfg)),
        {"scope": scope, "end": day.end, "user_ids": list(user_ids)} | channel_params(cfg.attribution),
    )
    return {
        int(r[0]): UserTouches(
            user_id=int(r[0]),
            first_touch=r[1],
            last_touch=r[2],
            first_paid_touch=r[3],
            last_paid_touch=r[4],
            first_payment_at=r[5],
            sessions_before_first_payment=int(r[6]) if r[5] is not None else None,
            sessions=int(r[7]),
        )
        for r in rows
    }


def _first_event_sql(src: Source) -> str:
    """Each cohort user's earliest web event before T under the scope's links: the first event of
    the user's first session, so its source is the first touch (ties broken by id, as sessions are
    ordered). Index probes per user and per linked device, whatever the days built."""
    web, links = src.table("web_events"), src.state_table("attribution_links")
    probe = "w.happened_at < :end and w.id <= :high order by w.happened_at, w.id limit 1"
    return f"""
    select distinct on (e.k_user) e.* from (
        -- the user's own rows, unless their device belongs to another user
        select u.user_id as k_user, null::text as k_anon, w.*
        from unnest(cast(:user_ids as bigint[])) as u(user_id)
        cross join lateral (
            select {RAW_COLUMNS} from {web} w
            left join {links} l on l.scope = :scope and l.anonymous_id = w.anonymous_id
            where w.user_id = u.user_id and (l.user_id is null or l.user_id = u.user_id) and {probe}
        ) w
        union all
        -- the rows of every device linked to the user
        select l.user_id, null::text, w.*
        from {links} l
        cross join lateral (
            select {RAW_COLUMNS} from {web} w where w.anonymous_id = l.anonymous_id and {probe}
        ) w
        where l.scope = :scope and l.user_id = any(cast(:user_ids as bigint[]))
    ) e
    order by e.k_user, e.ts, e.id
    """


def user_channel(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, user_ids: list[int]
) -> dict[int, str]:
    """Acquisition channel (first touch before T) of each user that has a session; users without
    one are left out (the funnel labels them Unattributed).

    Exact over all history without building it: the first session of a user starts with the
    user's earliest event, and its channel is that event's source. Equal to `user_touches`'
    first_touch on a fully built store (tested)."""
    if not user_ids:
        return {}
    at = store(src, cfg, day)
    scope, high = at.scope, at.watermark(conn)  # links as of the watermark the digest synced to
    sql = f"select s.user_id, {_channel(cfg)} from ({sessions_sql(cfg.attribution, _first_event_sql(src))}) s"
    params = {"scope": scope, "end": day.end, "high": high, "user_ids": list(user_ids),
              "tz": day.timezone} | rule_params(cfg.attribution) | channel_params(cfg.attribution)
    return {int(u): ch for u, ch in conn.execute(sa.text(sql), params)}
