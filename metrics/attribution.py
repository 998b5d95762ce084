"""Channel attribution: which channels bring the sessions, the users and the payments of day D.

Sessions come from the session store (metrics.sessions), which the digest brings up to date and
builds for `window_days` before any metric runs: this metric only reads it. Channels come from
metrics.channels; credit from metrics.attribution_models.
Payments whose user has no session in the lookback window are *unattributed*: every model's list
ends with a row whose channel is "Unattributed" (0 sessions, 0 users) when there are any, so
each model's conversions add up to D's payments; the same numbers are in `unattributed_*`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.attribution_models import (
    MARKOV,
    RULE_MODELS,
    journeys_sql,
    markov_shares,
    markov_transitions_sql,
    payments_sql,
    rule_credits_sql,
    session_users_sql,
)
from metrics.channels import PAID_CHANNELS, UNATTRIBUTED, channel_params, channel_sql
from metrics.common import excluded_event_ids
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, scope_params
from metrics.sessions import SessionStore
from metrics.sessions.rules import RAW_COLUMNS, rule_params, sessions_sql

TABLES = ("web_events", "payments")


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    sessions: int  # sessions that started on D
    users: int  # their distinct stitched users
    conversions: float  # fractional credit stays fractional
    revenue: float


@dataclass(frozen=True)
class AttributionResult:
    report_date: date
    model: str
    lookback_days: int
    session_timeout_minutes: int
    channels: list[ChannelRow] = field(default_factory=list)  # the default model
    models: dict[str, list[ChannelRow]] = field(default_factory=dict)
    sessions: int = 0  # all sessions that started on D
    users: int = 0
    payments: int = 0  # D's payments (amount > 0, non-experiment users)
    revenue: float = 0.0
    unattributed_payments: int = 0  # payments with no session in the lookback window
    unattributed_revenue: float = 0.0


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


# The channel of a session depends only on (source, medium), with null read as '': a day's queries
# look it up per session in a table of the window's distinct pairs instead of running the dozen
# regular expressions of channel_sql per session (3.5 s of a 7 s Markov query at 21M web rows).
_LOOKUP = ("(select m.channel from _channels m "
           "where m.src = coalesce(s.ch_source, '') and m.med = coalesce(s.ch_medium, ''))")


def _channel_table(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: str) -> None:
    sessions = src.state_table("attribution_sessions")
    pairs = channel_sql(cfg.attribution, "p.src", "p.med")
    first = window_days(cfg, day)[0]
    conn.execute(sa.text("drop table if exists _channels"))
    conn.execute(sa.text("""
        create temp table _channels (src text, med text, channel text not null, primary key (src, med))
        on commit drop"""))
    conn.execute(sa.text(f"""
        insert into _channels
        select p.src, p.med, {pairs} from (
            select distinct coalesce(s.ch_source, '') as src, coalesce(s.ch_medium, '') as med
            from {sessions} s
            where s.scope = :scope and s.local_day between :first_day and :day
              and s.started_at >= :from and s.started_at < :end
        ) p"""), {"scope": scope, "from": day.midnight(first), "end": day.end, "first_day": first, "day": day.day}
        | channel_params(cfg.attribution))


def _params(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: str) -> dict:
    return {
        "scope": scope,
        "start": day.start,
        "end": day.end,
        "day": day.day,
        # the local day of T - lookback: the first day the Markov chain's idle journeys read
        "idle_from_day": day.day_hours_before(day.end, 24 * cfg.attribution.lookback_days),
        "lookback": cfg.attribution.lookback_days,
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    }


def _day_sessions_sql(src: Source, cfg: MetricConfig, users: Scope | None = None) -> str:
    sessions = src.state_table("attribution_sessions")
    return f"""
with day_sessions as (
    select {_LOOKUP} as channel, s.skey
    from {sessions} s
    where s.scope = :scope and s.local_day = :day and s.started_at >= :start and s.started_at < :end
      and {session_users_sql(src, users)}
)
select channel, count(*) as sessions, count(distinct skey) as users
from day_sessions
group by grouping sets ((channel), ())
"""


# The journeys of D's payments feed three queries (unattributed payments, rule credits, Markov
# transitions): built once per report into temporary tables, which these CTEs read back under the
# names the queries of metrics.attribution_models use.
_JOURNEYS = "with payments_d as (select * from _payments_d), journeys as (select * from _journeys)"


def _journeys_tables(conn: Connection, src: Source, users: Scope | None, params: dict) -> None:
    conn.execute(sa.text("drop table if exists _journeys; drop table if exists _payments_d"))
    conn.execute(sa.text(f"create temp table _payments_d on commit drop as {payments_sql(src, users)}"), params)
    conn.execute(sa.text(f"""create temp table _journeys on commit drop as
        with payments_d as (select * from _payments_d), {journeys_sql(src, _LOOKUP)}
        select * from journeys"""), params)
    # the planner's row counts of the three readers; a temporary table has no statistics of its own
    conn.execute(sa.text("analyze _payments_d; analyze _journeys"))


_UNATTRIBUTED_SQL = f"""{_JOURNEYS}
select count(*) as payments, coalesce(sum(d.amount), 0) as revenue,
       count(*) filter (where not exists (select 1 from journeys j where j.payment_id = d.payment_id)),
       coalesce(sum(d.amount) filter (where not exists (
           select 1 from journeys j where j.payment_id = d.payment_id)), 0)
from payments_d d
"""


def _rows(
    traffic: dict[str, tuple[int, int]], credit: dict[str, tuple[float, float]], unattributed: tuple[int, float]
) -> list[ChannelRow]:
    names = set(traffic) | set(credit)
    rows = [
        ChannelRow(
            channel=n,
            sessions=traffic.get(n, (0, 0))[0],
            users=traffic.get(n, (0, 0))[1],
            conversions=round(credit.get(n, (0.0, 0.0))[0], 4),
            revenue=round(credit.get(n, (0.0, 0.0))[1], 4),
        )
        for n in names
    ]
    rows.sort(key=lambda r: (-r.revenue, -r.conversions, -r.sessions, r.channel))
    if unattributed[0]:
        rows.append(ChannelRow(UNATTRIBUTED, 0, 0, float(unattributed[0]), round(unattributed[1], 4)))
    return rows


def window_days(cfg: MetricConfig, day: ReportDay) -> list[date]:
    """The local days whose sessions the report of `day` reads: D's own sessions, the journeys of
    D's payments (started within the lookback, counted in 24-hour days, before the payment) and
    the non-converting journeys of the Markov model ([T - lookback, T))."""
    first = day.day_hours_before(day.start, 24 * cfg.attribution.lookback_days)
    return [first + timedelta(days=i) for i in range((day.day - first).days + 1)]


def store(src: Source, cfg: MetricConfig, day: ReportDay) -> SessionStore:
    """The scope of the session store a report of `day` reads."""
    return SessionStore(src, cfg.attribution, day.timezone)


def compute(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, users: Scope | None = None
) -> AttributionResult:
    """`users`: a report scope (metrics.scope; named so because `scope` here is the session
    store's). With one, only sessions whose stitched user is in it and its users' payments count;
    anonymous sessions fall outside every scope, in the Markov chain's idle journeys too.
    The store's days of `window_days` must be built (metrics.sessions.SessionsNotBuilt)."""
    scope = store(src, cfg, day).require(conn, window_days(cfg, day))
    params = _params(conn, src, cfg, day, scope) | scope_params(users)
    _channel_table(conn, src, cfg, day, scope)
    traffic, total = {}, (0, 0)
    for ch, n, users_n in conn.execute(sa.text(_day_sessions_sql(src, cfg, users)), params):
        if ch is None:
            total = (int(n), int(users_n))
        else:
            traffic[ch] = (int(n), int(users_n))
    _journeys_tables(conn, src, users, params)
    payments, revenue, unatt_n, unatt_rev = conn.execute(sa.text(_UNATTRIBUTED_SQL), params).one()
    attributed = (int(payments) - int(unatt_n), float(revenue) - float(unatt_rev))

    credit: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in RULE_MODELS}
    for model, ch, conv, rev in conn.execute(sa.text(f"{_JOURNEYS}\n{rule_credits_sql()}"), params):
        credit[model][ch] = (float(conv), float(rev))
    markov_sql = f"{_JOURNEYS}{markov_transitions_sql(src, _LOOKUP, users)}"
    counts = {(a, b): int(c) for a, b, c in conn.execute(sa.text(markov_sql), params)}
    shares = markov_shares(counts)
    credit[MARKOV] = {ch: (s * attributed[0], s * attributed[1]) for ch, s in shares.items()}

    unattributed = (int(unatt_n), float(unatt_rev))
    models = {m: _rows(traffic, credit[m], unattributed) for m in (*RULE_MODELS, MARKOV)}
    return AttributionResult(
        report_date=day.day,
        model=cfg.attribution.model,
        lookback_days=cfg.attribution.lookback_days,
        session_timeout_minutes=cfg.attribution.session_timeout_minutes,
        channels=models[cfg.attribution.model],
        models=models,
        sessions=total[0],
        users=total[1],
        payments=int(payments),
        revenue=round(float(revenue), 4),
        unattributed_payments=unattributed[0],
        unattributed_revenue=round(unattributed[1], 4),
    )


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
