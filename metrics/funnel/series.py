"""The funnel's daily step conversions, as checked numbers (docs/normal.md): one SQL statement
over D-back ... D for every step.

The funnel metric's own conversion (metrics.funnel) follows a 7-day cohort for 14 days: it reacts
to an incident a week late and its last days are censored. The checked number is a daily one
whose answer is final when the day ends (docs/normal.md):

    conversion of step k on day d = converted / due, where
    due: the users with a step k-1 occurrence at an instant t whose window [t, t + W] closes on
         day d (t + W falls in d, local time), each user once per day (their earliest such t);
    converted: those of them with a step k occurrence in [t, t + W] (both ends included).

W is `[baselines] conversion_hours` (48 h by default). A user reaches step k-1 again and again
(a CRM retry, a second request): each closing day counts them once. Step 1 has no conversion.
Experiment-flow users are left out, a scope keeps its own users; `purchase` is a payment > 0.
An incident that halves a step shows on the day it starts for the users already in their window
and fully W later.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series
from metrics.baselines.days import first_day
from metrics.checked import RATE, STEP, Number
from metrics.common import also, event_ids, excluded_event_ids, not_excluded, where
from metrics.config import PURCHASE, MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

TABLES = ("events", "events_dict")
NUMBERS = (Number("funnel", "step_conversion", RATE, 3, key=STEP, total=False, target="conversion",
                  parts=False),)


def _occurrences(src: Source, step: str, k: int, alias: str) -> tuple[str, str]:
    """(`from ... where` without time bounds, the time column) of a step's occurrences."""
    if step == PURCHASE:
        return f"from {src.table('payments')} {alias} where {alias}.amount > 0", f"{alias}.transaction_created_at"
    return f"from {src.table('events')} {alias} where {alias}.event_id = any(:ids_{k})", f"{alias}.happened_at"


def _step_ctes(src: Source, k: int, steps: tuple[str, str], scope: Scope | None, excluded: list[int]) -> str:
    """Step k's due users per closing day, each with the first step k occurrence at or after its
    t. The step's occurrences are one range scan, sorted with the due users per user (not a probe
    per user: ~25k probes a step cost 0.1 s; and not a join, which a planner without statistics
    ran as a scan of every occurrence per due user: 1,387 x 2,828 rows, 0.65 s a step)."""
    prev, step = steps
    rows, ts = _occurrences(src, prev, k - 1, "e")
    nxt, nts = _occurrences(src, step, k, "x")
    return f"""
due_{k} as (
    select a.user_id, a.day, a.t
    from (
        select e.user_id, (({ts}::timestamptz + make_interval(hours => :w)) at time zone :tz)::date as day,
               min({ts}::timestamptz) as t
        {rows}
          and {ts} >= :lo and {ts} < :hi{also(in_scope(src, scope, "e.user_id"))}
        group by 1, 2
    ) a
    {where(not_excluded(src, "a.user_id", excluded))}
),
reached_{k} as (
    select x.user_id, {nts}::timestamptz as t
    {nxt}
      and {nts} >= :lo and {nts} <= :hi + make_interval(hours => :w)
),
next_{k} as (
    -- an occurrence at the very instant t sorts after the due row, and counts
    select u.day, u.t, u.is_due,
           min(u.t) filter (where not u.is_due) over (
               partition by u.user_id order by u.t, u.is_due desc
               rows between current row and unbounded following) as reached_at
    from (select a.user_id, a.day, a.t, true as is_due from due_{k} a
          union all
          select x.user_id, null, x.t, false from reached_{k} x) u
)"""


def funnel_sql(src: Source, steps: Sequence[str], scope: Scope | None, excluded: list[int]) -> str:
    ks = range(2, len(steps) + 1)
    ctes = ",".join(_step_ctes(src, k, (steps[k - 2], steps[k - 1]), scope, excluded) for k in ks)
    selects = "\nunion all\n".join(
        f"select {k} as step, n.day, count(*) as due, "
        f"count(*) filter (where n.reached_at <= n.t + make_interval(hours => :w)) as converted "
        f"from next_{k} n where n.is_due group by n.day" for k in ks)
    return f"with {ctes}\n{selects}"


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                back: int) -> list[Series]:
    """One rate Series per funnel step after the first (key: the step's configured name)."""
    steps = cfg.funnel.steps
    if len(steps) < 2 or (PURCHASE in steps and not src.has("payments")):
        return []
    first = day.day - timedelta(days=back)
    w = cfg.baselines.conversion_hours
    ids = event_ids(conn, src, tuple(s for s in steps if s != PURCHASE))
    params = {"tz": day.timezone, "w": w, "excluded_ids": excluded_event_ids(conn, src, cfg),
              # occurrences whose window closes on first ... D
              "lo": day.midnight(first) - timedelta(hours=w), "hi": day.end - timedelta(hours=w),
              } | {f"ids_{k}": ids.get(s) or [-1] for k, s in enumerate(steps, start=1)} | scope_binds(conn, src, scope)
    due: dict[int, dict[date, float]] = {k: {} for k in range(2, len(steps) + 1)}
    done: dict[int, dict[date, float]] = {k: {} for k in range(2, len(steps) + 1)}
    for k, d, n, c in conn.execute(sa.text(funnel_sql(src, steps, scope, params["excluded_ids"])), params):
        if first <= d <= day.day:
            due[k][d], done[k][d] = float(n), float(c)
    start = first_day(conn, src, "events", "happened_at", day)
    first_data = None if start is None else start + timedelta(days=-(-w // 24))
    return [Series("funnel", steps[k - 1], "step_conversion", first_data,
                   {d: round(done[k][d] / n, 4) for d, n in due[k].items() if n}, due[k], numerators=done[k],
                   number=NUMBERS[0])
            for k in range(2, len(steps) + 1)]
