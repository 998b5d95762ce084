"""New paying users: users whose first-ever payment (amount > 0) falls on day D.

One range scan of payments over the series window; a window function marks each payer's first day
in it, and the "first ever" check is a probe of payments before the window for those payments
only, so the cost follows the window's payers, not the whole history. No join: a planner without
statistics guessed the window's payments at one row and re-ran a per-payer probe inside a nested
loop for every day of the window (issue 23: 15,265 probes for ~1,000 payers). The
same statement gives the day's report (`compute`) and the checked numbers' history (`series`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series
from metrics.baselines.days import first_day
from metrics.checked import COUNT, MONEY, Number
from metrics.common import also, excluded_event_ids, money, not_excluded
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

# The checked numbers (docs/normal.md): all company-wide; money and payers weigh most. In the
# order the block names them when they are equally certain (a day without payments).
NUMBERS = (
    Number("new_payers", "new_payers", COUNT, 4, aliases=("payers",)),
    Number("new_payers", "payments", COUNT, 4),
    Number("new_payers", "revenue", MONEY, 4),
    Number("new_payers", "new_payer_revenue", MONEY, 4),
)


@dataclass(frozen=True)
class PayersDay:
    date: date
    new_payers: int = 0
    new_payer_revenue: float = 0.0
    payments: int = 0
    paying_users: int = 0
    revenue: float = 0.0


@dataclass(frozen=True)
class NewPayersResult:
    report_date: date
    new_payers: int
    new_payer_revenue: float
    payments: int
    paying_users: int
    revenue: float
    previous_day: PayersDay
    week_ago: PayersDay
    daily: list[PayersDay] = field(default_factory=list)


def _sql(src: Source, scope: Scope | None, excluded: list[int]) -> str:
    payments = src.table("payments")
    return f"""
with window_payments as (
    select p.user_id,
           (p.transaction_created_at::timestamptz at time zone :tz)::date as day,
           p.amount
    from {payments} p
    where p.transaction_created_at >= :window_start
      and p.transaction_created_at < :window_end
      and p.amount > 0{also(not_excluded(src, "p.user_id", excluded), in_scope(src, scope, "p.user_id"))}
),
first_in_window as (
    -- a payment on its payer's first day of the window
    select w.*, w.day = min(w.day) over (partition by w.user_id) as first_day
    from window_payments w
),
marked as materialized (
    -- new: that first day is the first ever (no payment before the window); the probe runs once
    -- per payment of a first day, in the select list, where no join can repeat it (materialized:
    -- inlined, each aggregate's FILTER below would run it again)
    select f.day, f.user_id, f.amount,
           case when f.first_day then not exists (
               select 1 from {payments} q
               where q.user_id = f.user_id and q.amount > 0 and q.transaction_created_at < :window_start
           ) else false end as new
    from first_in_window f
)
select day, count(distinct user_id) filter (where new), coalesce(sum(amount) filter (where new), 0),
       count(*), count(distinct user_id), sum(amount)
from marked
group by day
order by day
"""


def compute(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None
) -> NewPayersResult:
    """With a scope, only its users' payments count (first-ever is still per user)."""
    days = max(cfg.new_payers_series_days, 8)  # D-7 must always be inside the window
    first = day.day - timedelta(days=days - 1)
    excluded = excluded_event_ids(conn, src, cfg)
    rows = conn.execute(
        sa.text(_sql(src, scope, excluded)),
        {"tz": day.timezone, "window_start": day.midnight(first), "window_end": day.end, "excluded_ids": excluded}
        | scope_binds(conn, src, scope),
    )
    by_day = {
        r[0]: PayersDay(r[0], int(r[1]), money(r[2]), int(r[3]), int(r[4]), money(r[5])) for r in rows
    }

    def at(d: date) -> PayersDay:
        return by_day.get(d, PayersDay(d))

    today = at(day.day)
    series_first = day.day - timedelta(days=cfg.new_payers_series_days - 1)
    return NewPayersResult(
        report_date=day.day,
        new_payers=today.new_payers,
        new_payer_revenue=today.new_payer_revenue,
        payments=today.payments,
        paying_users=today.paying_users,
        revenue=today.revenue,
        previous_day=at(day.day - timedelta(days=1)),
        week_ago=at(day.day - timedelta(days=7)),
        daily=[at(series_first + timedelta(days=i)) for i in range(cfg.new_payers_series_days)],
    )


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
           back: int) -> list[Series]:
    """NUMBERS day by day over D-back ... D, from `compute`'s own statement; money with its count
    of payments (its band needs to know how many made it)."""
    excluded = excluded_event_ids(conn, src, cfg)
    rows = conn.execute(sa.text(_sql(src, scope, excluded)), {
        "tz": day.timezone, "window_start": day.midnight(day.day - timedelta(days=back)), "window_end": day.end,
        "excluded_ids": excluded,
    } | scope_binds(conn, src, scope)).all()
    first = first_day(conn, src, "payments", "transaction_created_at", day)
    column = {"new_payers": 1, "new_payer_revenue": 2, "payments": 3, "revenue": 5}  # the JSON's order
    counts = {"new_payer_revenue": 1, "revenue": 3}  # new payers make their revenue, payments the rest
    number = {n.field: n for n in NUMBERS}
    return [Series("new_payers", None, f, first, {r[0]: float(r[i]) for r in rows},
                   counts={r[0]: float(r[counts[f]]) for r in rows} if f in counts else None, number=number[f])
            for f, i in column.items()]
