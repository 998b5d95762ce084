"""The daily series the baselines read: one SQL query per metric over D-back ... D (12 weeks).

Each query returns the checked numbers for every local day of the window (metrics.detector fits
its model on all of them), with the very definitions of the metric that reports them on one day
(the tests compare the two day by day), so the cost of a digest's baselines is a handful of range
scans, not 85 reports; metrics.baselines.store keeps finished days, so a daily digest runs them
over the last three days only:

- new_payers: metrics.new_payers' own query over the window (a payer is new on the day of their
  first payment ever: first in the window and none before it); money with its count of payments.
- hanging: breaches and close rates per pipeline (metrics.hanging.series).
- funnel: each step's daily conversion (metrics.funnel.series).
- sessions: the session store's sessions per local day and channel. D and its 8 weekdays are
  built first when the store lacks them (at most the ~4 older than the attribution window's
  31 days); the other days of the window count where the store has them and are left out (no
  data) where it does not: a report never triggers a build of all of history, and a daily bot's
  store holds the whole window after its first weeks. All sessions' slices are the channels.
- campaigns: sends and blocked sends per day and channel; conversions per day as metrics.campaigns
  credits them: a payment on day d can only go to a touch in the 24 h before it, and counts for
  day d's report when its winning touch (latest human click, else latest open or click, among the
  user's sends of [d - 7, d]) is on a send of day d.

"Days before the data begins": each series has its first day, the local day of the metric's
first row (company-wide, whatever the scope).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics import campaigns, new_payers
from metrics.attribution.models import session_users_sql
from metrics.baselines import Series, Slice
from metrics.baselines.days import first_day as _first_day
from metrics.baselines.days import weekdays_of as _days
from metrics.baselines.days import window as _window
from metrics.channels import channel_params, channel_sql
from metrics.common import excluded_event_ids, not_excluded
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.funnel import series as baseline_funnel
from metrics.hanging import series as baseline_hanging
from metrics.scope import Scope, in_scope, scope_params
from metrics.sessions import SessionStore
from metrics.sessions.store import ensure_days

METRICS = ("new_payers", "hanging", "funnel", "attribution", "campaigns")
TABLES = {
    "new_payers": ("payments",),
    "hanging": ("events", "events_dict"),
    "funnel": baseline_funnel.TABLES,
    "attribution": ("web_events", "payments"),
    "campaigns": ("message_sends", "message_interactions", "payments"),
}


def _payers(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
            back: int) -> list[Series]:
    window_start = day.midnight(day.day - timedelta(days=back))
    rows = conn.execute(sa.text(new_payers._sql(src, scope)), {
        "tz": day.timezone, "window_start": window_start, "window_end": day.end,
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    } | scope_params(scope)).all()
    first = _first_day(conn, src, "payments", "transaction_created_at", day)
    fields = {"new_payers": 1, "new_payer_revenue": 2, "payments": 3, "revenue": 5}
    # money: how many payments make it (its band needs a usual day of several)
    counts = {"new_payer_revenue": 1, "revenue": 3}
    return [Series("new_payers", None, f, first, {r[0]: float(r[i]) for r in rows},
                   counts={r[0]: float(r[counts[f]]) for r in rows} if f in counts else None)
            for f, i in fields.items()]


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


def _sessions(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, users: Scope | None,
              back: int, built: Sequence[date] = ()) -> list[Series]:
    first = _first_day(conn, src, "web_events", "happened_at", day)
    if first is None or first > day.day:
        return [Series("attribution", None, "sessions", first, {})]
    # D and its weekdays are built if missing (each of `built` and its weekdays, for a backtest);
    # the other days of the window count where built
    needed = {x for d in (built or [day.day]) for x in _days(ReportDay(d, day.timezone))}
    store = ensure_days(conn, src, cfg.attribution, day.timezone, sorted(d for d in needed if d >= first))
    window = [d for d in _window(day, back) if d >= first]
    days = sorted(set(window) - set(SessionStore(src, cfg.attribution, day.timezone).missing_days(conn, window)))
    params = {"scope": store, "days": days, "lo": day.midnight(days[0]), "hi": day.end,
              "excluded_ids": excluded_event_ids(conn, src, cfg)} | scope_params(users) | channel_params(cfg.attribution)
    total: dict[date, float] = {}
    per_channel: dict[str, dict[date, float]] = {}
    for d, ch, n in conn.execute(sa.text(_sessions_sql(src, cfg, users)), params):
        (total if ch is None else per_channel.setdefault(ch, {}))[d] = float(n)
    known = frozenset(days)
    # all sessions' drivers are their channels
    slices = tuple(Slice("channel", ch, per_channel[ch]) for ch in sorted(per_channel))
    return [Series("attribution", None, "sessions", first, total, known=known, slices=slices)] + [
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


def _campaigns(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
               back: int) -> list[Series]:
    days = _window(day, back)
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
                          {d: round(c["blocked"][d] / n, 4) for d, n in c["total"].items() if n}, c["total"],
                          numerators=c["blocked"]))
        out.append(Series("campaigns", ch, "conversion_rate", first,
                          {d: round(c["conv"][d] / n, 4) for d, n in c["sent"].items() if n}, c["sent"],
                          numerators=c["conv"]))
    return out


SERIES = {"new_payers": _payers, "hanging": baseline_hanging.breaches, "funnel": baseline_funnel.conversions,
          "attribution": _sessions, "campaigns": _campaigns}


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
           metrics: Sequence[str] | None = None, back: int = HISTORY_DAYS,
           built_days: Sequence[date] = ()) -> list[Series]:
    """Every checked number's series over D-back ... D, for the metrics asked (default all) whose
    tables exist. `built_days`: the report days whose session days must be built (default D)."""
    out: list[Series] = []
    for name in METRICS:
        if (metrics is None or name in metrics) and src.has(*TABLES[name]):
            if name == "attribution":
                out.extend(_sessions(conn, src, cfg, day, scope, back, built_days))
            else:
                out.extend(SERIES[name](conn, src, cfg, day, scope, back))
    return out
