"""The daily series the baselines read: one SQL query per metric over D-56 ... D.

Each query returns the checked numbers for every local day of the window (the band's expected
value reads D's weekday, its spread all 56 days before D: metrics.baselines), with the very
definitions of the metric that reports them on one day (the tests compare the two day by day), so
the cost of a digest's baselines is a handful of range scans of 57 days, not 57 reports:

- new_payers: metrics.new_payers' own query over the 57-day window (a payer is new on the day of
  their first payment ever: first in the window and none before it).
- hanging breaches: a process breaches on the local day of its deadline start + SLA, so each start
  event maps to one day d; it counts there when it is the user's latest start before d's cutoff
  T_d, lies in the lookback window before T_d, and no end came in [start, T_d) (one index probe per
  start; DESIGN section 4, as metrics.hanging counts `breached_today`).
- sessions: the session store's sessions per local day and channel. D and its 8 weekdays are
  built first when the store lacks them (at most the ~4 older than the attribution window's
  31 days); the other days of the window count where the store has them and are left out (no
  data) where it does not: a report never triggers a build of all of history, and a daily bot's
  store holds the whole window after its first 8 weeks.
- campaigns: sends and blocked sends per day and channel; conversions per day as metrics.campaigns
  credits them: a payment on day d can only go to a touch in the 24 h before it, and counts for
  day d's report when its winning touch (latest human click, else latest open or click, among the
  user's sends of [d - 7, d]) is on a send of day d.

"Days before the data begins": each series has its first day, the local day of the metric's
first row (company-wide, whatever the scope); a breach needs SLA hours of events before it, so
that series starts ceil(SLA / 24 h) days after the first event.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics import campaigns, new_payers
from metrics.attribution_models import session_users_sql
from metrics.baselines import WEEKS, Series, history_days
from metrics.channels import channel_params, channel_sql
from metrics.common import event_ids, excluded_event_ids, not_excluded
from metrics.config import MetricConfig, Pipeline
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_params
from metrics.sessions import SessionStore
from metrics.sessions.store import ensure_days

METRICS = ("new_payers", "hanging", "attribution", "campaigns")
TABLES = {
    "new_payers": ("payments",),
    "hanging": ("events", "events_dict"),
    "attribution": ("web_events", "payments"),
    "campaigns": ("message_sends", "message_interactions", "payments"),
}


def _days(day: ReportDay) -> list[date]:
    """D and the same weekday of the WEEKS weeks before it, oldest first."""
    return sorted([day.day, *history_days(day.day)])


def _window(day: ReportDay) -> list[date]:
    """Every day D-56 ... D: the band's spread is estimated from all of them (metrics.baselines)."""
    return [day.day - timedelta(days=7 * WEEKS - i) for i in range(7 * WEEKS + 1)]


def _first_day(conn: Connection, src: Source, table: str, column: str, day: ReportDay) -> date | None:
    """The local day of the table's first row (one index probe)."""
    first = conn.execute(sa.text(f"select min({column})::timestamptz from {src.table(table)}")).scalar_one()
    return None if first is None else first.astimezone(day.tz).date()


def _payers(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None) -> list[Series]:
    window_start = day.midnight(day.day - timedelta(days=7 * WEEKS))
    rows = conn.execute(sa.text(new_payers._sql(src, scope)), {
        "tz": day.timezone, "window_start": window_start, "window_end": day.end,
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    } | scope_params(scope)).all()
    first = _first_day(conn, src, "payments", "transaction_created_at", day)
    fields = {"new_payers": 1, "new_payer_revenue": 2, "payments": 3, "revenue": 5}
    return [Series("new_payers", None, f, first, {r[0]: float(r[i]) for r in rows}) for f, i in fields.items()]


def _breach_sql(src: Source, ends_on_purchase: bool, scope: Scope | None) -> str:
    events, payments = src.table("events"), src.table("payments")
    purchase = f"""
  and not exists (select 1 from {payments} p
                  where p.user_id = c.user_id and p.amount > 0
                    and p.transaction_created_at >= c.started_at and p.transaction_created_at < c.day_end)""" \
        if ends_on_purchase else ""
    return f"""
with starts as (
    select e.user_id, e.happened_at::timestamptz as started_at,
           lead(e.happened_at::timestamptz) over (partition by e.user_id order by e.happened_at) as next_start
    from {events} e
    where e.event_id = any(:start_ids)
      and e.happened_at >= :scan_from and e.happened_at < :cutoff
      and {in_scope(src, scope, "e.user_id")}
),
dated as (
    select s.*, ((s.started_at + make_interval(secs => :sla_s)) at time zone :tz)::date as day
    from starts s
),
candidates as (
    select d.*, ((d.day + 1)::timestamp at time zone :tz) as day_end
    from dated d
    where d.day >= :first
)
select c.day, count(*)
from candidates c
where (c.next_start is null or c.next_start >= c.day_end)      -- the latest start before T_d
  and c.started_at >= c.day_end - make_interval(secs => :lookback_s)
  and not exists (select 1 from {events} x
                  where x.user_id = c.user_id and x.event_id = any(:end_ids)
                    and x.happened_at >= c.started_at and x.happened_at < c.day_end){purchase}
  and {not_excluded(src, "c.user_id")}
group by c.day
"""


def _breaches(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None) -> list[Series]:
    excluded = excluded_event_ids(conn, src, cfg)
    first_event = _first_day(conn, src, "events", "happened_at", day)
    days = _window(day)
    out = []
    for p in cfg.hanging.pipelines:
        first = None if first_event is None else first_event + timedelta(days=math.ceil(p.sla_hours / 24))
        out.append(Series("hanging", p.name, "breached_today", first,
                          _breach_counts(conn, src, cfg, day, p, days, excluded, scope)))
    return out


def _breach_counts(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, p: Pipeline,
                   days: list[date], excluded: list[int], scope: Scope | None) -> dict[date, float]:
    ids = event_ids(conn, src, (p.start, *p.end_events))
    if not ids[p.start]:
        return {}
    sla = timedelta(hours=p.sla_hours)
    params = {
        "start_ids": ids[p.start],
        "end_ids": sorted({i for n in p.end_events for i in ids[n]}) or [-1],
        "excluded_ids": excluded, "tz": day.timezone, "first": days[0],
        "sla_s": sla.total_seconds(), "lookback_s": timedelta(days=cfg.hanging.lookback_days).total_seconds(),
        # a deadline on the first day needs its start from SLA before; later starts (up to T) are
        # read for `next_start` (a restart replaces the process)
        "scan_from": day.midnight(days[0]).astimezone(UTC) - sla,
        "cutoff": day.end,
    } | scope_params(scope)
    sql = _breach_sql(src, p.ends_on_purchase and src.has("payments"), scope)
    return {d: float(n) for d, n in conn.execute(sa.text(sql), params)}


def _sessions_sql(src: Source, cfg: MetricConfig, users: Scope | None) -> str:
    sessions = src.state_table("attribution_sessions")
    # the users' exclusion (and scope) probes once per distinct user of the window, not once per
    # session (measured: 46k probes, 0.33 s of 0.54 s, at 950 sessions a day)
    anonymous = "s.user_id is null or " if users is None else ""
    return f"""
with window_sessions as (
    select s.local_day, s.user_id, coalesce(s.ch_source, '') as src, coalesce(s.ch_medium, '') as med
    from {sessions} s
    where s.scope = :scope and s.started_at >= :lo and s.started_at < :hi and s.local_day = any(:days)
),
kept_users as (
    select u.user_id
    from (select distinct user_id from window_sessions where user_id is not null) u
    where {session_users_sql(src, users, "u.user_id")}
),
pairs as (
    select s.local_day, s.src, s.med, count(*) as n
    from window_sessions s
    where {anonymous}s.user_id in (select user_id from kept_users)
    group by 1, 2, 3
),
channelled as (
    select local_day, {channel_sql(cfg.attribution, "src", "med")} as channel, n from pairs
)
select local_day, channel, sum(n) from channelled group by grouping sets ((local_day, channel), (local_day))
"""


def _sessions(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, users: Scope | None) -> list[Series]:
    first = _first_day(conn, src, "web_events", "happened_at", day)
    if first is None or first > day.day:
        return [Series("attribution", None, "sessions", first, {})]
    # D and its weekdays are built if missing; the other days of the window count where built
    store = ensure_days(conn, src, cfg.attribution, day.timezone, [d for d in _days(day) if d >= first])
    window = [d for d in _window(day) if d >= first]
    days = sorted(set(window) - set(SessionStore(src, cfg.attribution, day.timezone).missing_days(conn, window)))
    params = {"scope": store, "days": days, "lo": day.midnight(days[0]), "hi": day.end,
              "excluded_ids": excluded_event_ids(conn, src, cfg)} | scope_params(users) | channel_params(cfg.attribution)
    total: dict[date, float] = {}
    per_channel: dict[str, dict[date, float]] = {}
    for d, ch, n in conn.execute(sa.text(_sessions_sql(src, cfg, users)), params):
        (total if ch is None else per_channel.setdefault(ch, {}))[d] = float(n)
    known = frozenset(days)
    return [Series("attribution", None, "sessions", first, total, known=known)] + [
        Series("attribution", ch, "sessions", first, per_channel[ch], known=known) for ch in sorted(per_channel)]


def _campaigns_sql(src: Source, scope: Scope | None) -> str:
    sends, touches, payments = src.table("message_sends"), src.table("message_interactions"), src.table("payments")
    return f"""
with sends_w as (
    select s.id, s.user_id, s.channel, s.status, (s.sent_at::timestamptz at time zone :tz)::date as day
    from {sends} s
    where s.sent_at >= :rival_start and s.sent_at < :end
      and {not_excluded(src, "s.user_id")}
      and {in_scope(src, scope, "s.user_id")}
),
counts as (
    select day, channel, count(*) as total,
           count(*) filter (where status = 'sent') as sent,
           count(*) filter (where status = 'blocked') as blocked
    from sends_w where day >= :first group by day, channel
),
touches_w as (
    -- each send's touches, probed as metrics.campaigns reads them
    select i.send_id, s.user_id, s.channel, s.day as send_day, i.kind, i.at
    from sends_w s
    {campaigns.touches_of_sends_sql(touches)}
),
payments_w as (
    select p.id, p.user_id, p.transaction_created_at::timestamptz as paid_at,
           (p.transaction_created_at::timestamptz at time zone :tz)::date as pay_day
    from (select distinct user_id from touches_w) u
    join {payments} p on p.user_id = u.user_id
     and p.transaction_created_at >= :start and p.transaction_created_at < :end
    where p.amount > 0
),
ranked as (
    select p.id, p.pay_day, t.send_day, t.channel,
           row_number() over (partition by p.id order by {campaigns._human_click(src, "p.day_end")} desc,
                                                         t.at desc, t.send_id desc) as rank
    from (select pw.*, ((pw.pay_day + 1)::timestamp at time zone :tz) as day_end
          from payments_w pw where pw.pay_day >= :first) p
    join touches_w t on t.user_id = p.user_id
     and t.at <= p.paid_at and t.at > p.paid_at - :conversion
     and t.send_day between p.pay_day - 7 and p.pay_day
),
credits as (
    select pay_day as day, channel, count(*) as conversions
    from ranked where rank = 1 and send_day = pay_day group by pay_day, channel
)
select c.day, c.channel, c.total, c.sent, c.blocked, coalesce(r.conversions, 0)
from counts c left join credits r using (day, channel)
"""


def _campaigns(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None) -> list[Series]:
    days = _window(day)
    bind = campaigns.params(src, cfg, day) | {
        "tz": day.timezone, "first": days[0], "start": day.midnight(days[0]),
        "rival_start": day.midnight(days[0] - timedelta(days=campaigns.RIVAL_LOOKBACK_DAYS)),
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    } | scope_params(scope)
    first = _first_day(conn, src, "message_sends", "sent_at", day)
    per: dict[str, dict[str, dict[date, float]]] = {}
    for d, ch, total, sent, blocked, conv in conn.execute(sa.text(_campaigns_sql(src, scope)), bind):
        c = per.setdefault(ch, {k: {} for k in ("total", "sent", "blocked", "conv")})
        c["total"][d], c["sent"][d], c["blocked"][d], c["conv"][d] = float(total), float(sent), float(blocked), float(conv)
    out = []
    for ch in sorted(per):
        c = per[ch]
        out.append(Series("campaigns", ch, "total", first, c["total"]))
        out.append(Series("campaigns", ch, "block_share", first,
                          {d: round(c["blocked"][d] / n, 4) for d, n in c["total"].items() if n}, c["total"]))
        out.append(Series("campaigns", ch, "conversion_rate", first,
                          {d: round(c["conv"][d] / n, 4) for d, n in c["sent"].items() if n}, c["sent"]))
    return out


SERIES = {"new_payers": _payers, "hanging": _breaches, "attribution": _sessions, "campaigns": _campaigns}


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
           metrics: Sequence[str] | None = None) -> list[Series]:
    """Every checked number's series, for the metrics asked (default all) whose tables exist."""
    out: list[Series] = []
    for name in METRICS:
        if (metrics is None or name in metrics) and src.has(*TABLES[name]):
            out.extend(SERIES[name](conn, src, cfg, day, scope))
    return out
