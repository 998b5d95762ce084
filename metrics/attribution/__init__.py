"""Channel attribution: which channels bring the sessions, the users and the payments of day D.

Sessions come from the session store (metrics.sessions), which the digest brings up to date and
builds for `window_days` before any metric runs: this metric only reads it. Channels come from
metrics.channels; credit from metrics.attribution.models.
Payments whose user has no session in the lookback window are *unattributed*: every model's list
ends with a row whose channel is "Unattributed" (0 sessions, 0 users) when there are any, so
each model's conversions add up to D's payments; the same numbers are in `unattributed_*`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.attribution.models import (
    MARKOV,
    RULE_MODELS,
    journeys_sql,
    markov_shares,
    markov_transitions_sql,
    payments_sql,
    rule_credits_sql,
    session_users_sql,
)
from metrics.channels import UNATTRIBUTED, channel_params, channel_sql
from metrics.common import also, excluded_event_ids
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, scope_binds
from metrics.sessions import SessionStore

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


def _day_sessions_sql(src: Source, users: Scope | None, excluded: list[int]) -> str:
    sessions = src.state_table("attribution_sessions")
    return f"""
with day_sessions as (
    select {_LOOKUP} as channel, s.skey
    from {sessions} s
    where s.scope = :scope and s.local_day = :day and s.started_at >= :start and s.started_at < :end{also(session_users_sql(src, users, excluded))}
)
select channel, count(*) as sessions, count(distinct skey) as users
from day_sessions
group by grouping sets ((channel), ())
"""


# The journeys of D's payments feed three queries (unattributed payments, rule credits, Markov
# transitions): built once per report into temporary tables, which these CTEs read back under the
# names the queries of metrics.attribution.models use.
_JOURNEYS = "with payments_d as (select * from _payments_d), journeys as (select * from _journeys)"


def _journeys_tables(conn: Connection, src: Source, users: Scope | None, params: dict) -> None:
    conn.execute(sa.text("drop table if exists _journeys; drop table if exists _payments_d"))
    conn.execute(sa.text(f"create temp table _payments_d on commit drop as {payments_sql(src, users, params['excluded_ids'])}"), params)
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
    params = _params(conn, src, cfg, day, scope) | scope_binds(conn, src, users)
    _channel_table(conn, src, cfg, day, scope)
    traffic, total = {}, (0, 0)
    for ch, n, users_n in conn.execute(sa.text(_day_sessions_sql(src, users, params["excluded_ids"])), params):
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
    markov_sql = f"{_JOURNEYS}{markov_transitions_sql(src, _LOOKUP, users, params['excluded_ids'])}"
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
