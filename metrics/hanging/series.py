"""The pipelines' checked numbers (NUMBERS) day by day: processes past SLA during each day and the
close rate, in one SQL statement per pipeline over D-back ... D.

A process breaches on the local day of its deadline start + SLA, so each start event maps to one
day d; it is *due* there when it is the user's latest start before d's cutoff T_d and lies in the
lookback window before T_d, and *breached* when besides no end came in [start, T_d) (the window's
ends read once and sorted with the due starts per user, not a probe per due process, which a
planner without statistics ran as a scan of every end per process; docs/metrics.md, as
metrics.hanging counts `breached_today`). The close rate is (due - breached) / due: the share of
d's due processes not hanging at the end of d.
A breach needs SLA hours of events before it, so a pipeline's series starts ceil(SLA / 24 h)
days after the first event.
"""
from __future__ import annotations

import math
from datetime import UTC, date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series
from metrics.baselines.days import first_day, window
from metrics.checked import COUNT, PIPELINE, RATE, Number
from metrics.common import also, event_ids, excluded_event_ids, not_excluded
from metrics.config import MetricConfig, Pipeline
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

NUMBERS = (
    Number("hanging", "breached_today", COUNT, 2, key=PIPELINE, total=False, target="breached"),
    Number("hanging", "close_rate", RATE, 3, key=PIPELINE, total=False, parts=False),
)
BREACHED, CLOSE_RATE = NUMBERS


def _breach_sql(src: Source, ends_on_purchase: bool, scope: Scope | None, excluded: list[int]) -> str:
    events, payments = src.table("events"), src.table("payments")
    purchase = f"""
    union all
    select p.user_id, p.transaction_created_at::timestamptz
    from {payments} p
    where p.amount > 0 and p.transaction_created_at >= :scan_from and p.transaction_created_at < :cutoff""" \
        if ends_on_purchase else ""
    return f"""
with starts as (
    select e.user_id, e.happened_at::timestamptz as started_at,
           lead(e.happened_at::timestamptz) over (partition by e.user_id order by e.happened_at) as next_start
    from {events} e
    where e.event_id = any(:start_ids)
      and e.happened_at >= :scan_from and e.happened_at < :cutoff{also(in_scope(src, scope, "e.user_id"))}
),
dated as (
    select s.*, ((s.started_at + make_interval(secs => :sla_s)) at time zone :tz)::date as day
    from starts s
),
candidates as (
    select d.*, ((d.day + 1)::timestamp at time zone :tz) as day_end
    from dated d
    where d.day >= :first
),
due as (
    -- due on d: the close rate's denominator
    select c.user_id, c.started_at, c.day, c.day_end
    from candidates c
    where (c.next_start is null or c.next_start >= c.day_end)      -- the latest start before T_d
      and c.started_at >= c.day_end - make_interval(secs => :lookback_s){also(not_excluded(src, "c.user_id", excluded))}
),
ends as (
    -- every end of the window once: an end that closes a due process lies in [start, T_d)
    select e.user_id, e.happened_at::timestamptz as ended_at
    from {events} e
    where e.event_id = any(:end_ids) and e.happened_at >= :scan_from and e.happened_at < :cutoff{purchase}
),
closing as (
    -- each due process with the user's first end at or after its start: one sort of both (an
    -- end at the very instant of the start sorts after it, and closes it)
    select t.day, t.day_end, t.is_start,
           min(t.at) filter (where not t.is_start) over (
               partition by t.user_id order by t.at, t.is_start desc
               rows between current row and unbounded following) as first_end
    from (select d.user_id, d.started_at as at, true as is_start, d.day, d.day_end from due d
          union all
          select x.user_id, x.ended_at, false, null, null from ends x) t
)
select day, count(*) filter (where first_end is null or first_end >= day_end), count(*)
from closing
where is_start
group by day
"""


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
           back: int) -> list[Series]:
    first_event = first_day(conn, src, "events", "happened_at", day)
    days = window(day, back)
    out = []
    for p in cfg.hanging.pipelines:
        first = None if first_event is None else first_event + timedelta(days=math.ceil(p.sla_hours / 24))
        breached, due = _breach_counts(conn, src, cfg, day, p, (days, scope))
        out.append(Series("hanging", p.name, "breached_today", first, breached, number=BREACHED))
        # the close rate: of the processes due on d (deadline in d), the share not hanging at d's end
        closed = {d: n - breached.get(d, 0.0) for d, n in due.items()}
        out.append(Series("hanging", p.name, "close_rate", first,
                          {d: round(c / due[d], 4) for d, c in closed.items() if due[d]}, due, numerators=closed,
                          number=CLOSE_RATE))
    return out


def _breach_counts(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, p: Pipeline,
                   over: tuple[list[date], Scope | None]) -> tuple[dict[date, float], dict[date, float]]:
    """(breached on d, due on d) per day of `over`'s days, for `over`'s scope."""
    days, scope = over
    excluded = excluded_event_ids(conn, src, cfg)
    ids = event_ids(conn, src, (p.start, *p.end_events))
    if not ids[p.start]:
        return {}, {}
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
    } | scope_binds(conn, src, scope)
    sql = _breach_sql(src, p.ends_on_purchase and src.has("payments"), scope, excluded)
    rows = conn.execute(sa.text(sql), params).all()
    return {d: float(n) for d, n, _ in rows if n}, {d: float(due) for d, _, due in rows}
