"""Hanging business processes: per pipeline, the users whose latest start event has no end yet.

Definitions (docs/metrics.md; T = cutoff = end of report day D in the report time zone):

- lookback window: the instants [T - lookback_days * 24 h, T). Per user and pipeline the process
  is the user's LATEST start event in that window (a restart replaces the earlier process).
- open: no end event of the pipeline at or after the start and before T. An end event at exactly
  the start instant closes it; an end event before the start does not. The end `purchase` means a
  payment with amount > 0.
- age = T - start, in absolute time (a 23-hour DST day is 23 hours).
- hanging: open and age >= SLA.  open_within_sla: open and age < SLA.
- breached_today: open processes whose SLA deadline (start + SLA) lies in [D.start, T): the
  process crossed its SLA during D. A process becomes hanging at the instant start + SLA, so this
  is a subset of `hanging` (a deadline exactly at T is hanging at the cutoff, but breaches at the
  first instant of D+1, so it is not counted as breached on D).
- age buckets of the hanging backlog: whole days floor(age / 24 h), each bucket [from, to]
  inclusive, labelled "from-to"; a hanging process whose age falls in no bucket is in none.

Scope (metrics.scope): only the scope's users' start events open a process; company-wide
without one.

Owners (docs/scopes.md): a user's owner is its user_tags tag with the configured prefix
(`hanging.owner_prefix`, default "manager:"), kept whole ("manager:ivanov", usable as a scope). A
user with several owner tags counts once, under the first in sort order; a user with none counts
under owner None. So each pipeline's `by_owner` rows add up exactly to its `hanging` and
`breached_today`. `by_owner` lists the owners (None included) with at least one hanging process,
most first (then most breached today, then by name, None last); it is empty when the company has
no user_tags table, or when nothing hangs.

Experiment-flow users are left out. Cost: range scans of the start and end events (and payments)
over the lookback window on the (event_id, happened_at) index, aggregated per user: the window's
data, never the history before it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.common import also, event_ids, excluded_event_ids, not_excluded
from metrics.config import MetricConfig, Pipeline
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

# Tables: events + events_dict; `purchase` ends also read payments when the table exists (without
# it there are no purchases, so such a pipeline closes by its end events only). The digest derives
# this from the configuration: reports.requirements.


@dataclass(frozen=True)
class AgeBucket:
    label: str  # e.g. "1-2" (days)
    from_days: int
    to_days: int
    users: int


@dataclass(frozen=True)
class OwnerCount:
    owner: str | None  # the whole owner tag, e.g. "manager:ivanov"; None: users with no owner
    hanging: int
    breached_today: int


@dataclass(frozen=True)
class StuckLead:
    pipeline: str
    user_id: int
    owner: str | None
    since: datetime  # the start event of the hanging process
    age_hours: float  # T - since


@dataclass(frozen=True)
class PipelineStatus:
    name: str
    start_event: str
    sla_hours: float
    hanging: int
    open_within_sla: int
    breached_today: int
    age_buckets: list[AgeBucket] = field(default_factory=list)
    end_events: list[str] = field(default_factory=list)
    by_owner: list[OwnerCount] = field(default_factory=list)


@dataclass(frozen=True)
class HangingResult:
    report_date: date
    lookback_days: int
    pipelines: list[PipelineStatus] = field(default_factory=list)


def _open_sql(src: Source, ends_on_purchase: bool, scope: Scope | None, excluded: Sequence[int]) -> str:
    """CTEs up to `owned`: the open processes (user_id, started_at, owner) at the cutoff."""
    events, payments = src.table("events"), src.table("payments")
    # Every end that can close a process lies in [start, T), and start >= T - lookback, so the
    # ends are inside the lookback window too: one range scan per kind, aggregated per user,
    # replaces a per-user probe of each user's history.
    purchase_ends = (
        f"""
    union all
    select p.user_id, max(p.transaction_created_at::timestamptz)
    from {payments} p
    where p.amount > 0
      and p.transaction_created_at >= :lookback_start
      and p.transaction_created_at < :cutoff
    group by p.user_id"""
        if ends_on_purchase
        else ""
    )
    owner = (
        f"(select min(g.tag) from {src.table('user_tags')} g "
        f"where g.user_id = o.user_id and starts_with(g.tag, :owner_prefix))"
        if src.has("user_tags")
        else "null::text"
    )
    return f"""
with latest_starts as (
    -- the process per user: the latest start in the lookback window
    select e.user_id, max(e.happened_at::timestamptz) as started_at
    from {events} e
    where e.event_id = any(:start_ids)
      and e.happened_at >= :lookback_start
      and e.happened_at < :cutoff{also(in_scope(src, scope, "e.user_id"))}
    group by e.user_id
),
last_ends as (
    -- the latest end (event or purchase) per user in the same window
    select user_id, max(ended_at) as ended_at
    from (
        select e.user_id, max(e.happened_at::timestamptz) as ended_at
        from {events} e
        where e.event_id = any(:end_ids)
          and e.happened_at >= :lookback_start
          and e.happened_at < :cutoff
        group by e.user_id{purchase_ends}
    ) ends
    group by user_id
),
open_processes as (
    -- open: no end at or after the start (an end at the very instant of the start closes it);
    -- the two per-user rows meet in one aggregate, not a join, which a planner without
    -- statistics ran as a scan of every user's end per started user
    select o.user_id, o.started_at
    from (
        select u.user_id, max(u.started_at) as started_at, max(u.ended_at) as ended_at
        from (select s.user_id, s.started_at, null::timestamptz as ended_at from latest_starts s
              union all
              select x.user_id, null, x.ended_at from last_ends x) u
        group by u.user_id
    ) o
    where o.started_at is not null
      and (o.ended_at is null or o.ended_at < o.started_at){also(not_excluded(src, "o.user_id", excluded))}
),
owned as (
    -- one probe of the user_tags (user_id) index per open process
    select o.user_id, o.started_at, {owner} as owner
    from open_processes o
)"""


def _sql(src: Source, ends_on_purchase: bool, scope: Scope | None = None, excluded: Sequence[int] = ()) -> str:
    return f"""{_open_sql(src, ends_on_purchase, scope, excluded)},
aged as (
    select o.started_at <= :sla_cutoff as is_hanging,
           o.started_at >= :breach_from and o.started_at < :sla_cutoff as breached_today,
           floor(extract(epoch from (:cutoff - o.started_at)) / 86400)::int as age_days,
           o.owner
    from owned o
)
-- at most (lookback + 1) * 2 * 2 rows per owner: Python only sums them into the result
select is_hanging, breached_today, age_days, owner, count(*) as processes
from aged
group by is_hanging, breached_today, age_days, owner
"""


def _stuck_sql(src: Source, ends_on_purchase: bool, scope: Scope | None, excluded: list[int]) -> str:
    return f"""{_open_sql(src, ends_on_purchase, scope, excluded)}
select o.user_id, o.owner, o.started_at
from owned o
where o.started_at <= :sla_cutoff
order by o.started_at, o.user_id
limit :limit
"""


def _params(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, p: Pipeline, scope: Scope | None,
) -> tuple[bool, dict]:
    """(whether the start event exists, bind parameters) of one pipeline."""
    ids = event_ids(conn, src, (p.start, *p.end_events))
    start_ids = ids[p.start]
    end_ids = sorted({i for name in p.end_events for i in ids[name]}) or [-1]
    # Absolute instants (UTC arithmetic): an aware datetime's `-` in its own zone is wall-clock.
    cutoff = day.end.astimezone(UTC)
    sla = timedelta(hours=p.sla_hours)
    params = {
        "start_ids": start_ids or [-1],
        "end_ids": end_ids,
        "excluded_ids": excluded_event_ids(conn, src, cfg),
        "cutoff": cutoff,
        "lookback_start": cutoff - timedelta(days=cfg.hanging.lookback_days),
        # hanging <=> T - start >= SLA <=> start <= T - SLA
        "sla_cutoff": cutoff - sla,
        # deadline start + SLA in [D.start, T) <=> start in [D.start - SLA, T - SLA)
        "breach_from": day.start.astimezone(UTC) - sla,
        "owner_prefix": cfg.hanging.owner_prefix,
    } | scope_binds(conn, src, scope)
    return bool(start_ids), params


def _by_owner(counts: dict[str | None, list[int]]) -> list[OwnerCount]:
    rows = [OwnerCount(owner, h, b) for owner, (h, b) in counts.items()]
    return sorted(rows, key=lambda r: (-r.hanging, -r.breached_today, r.owner is None, r.owner or ""))


def _pipeline_status(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, p: Pipeline, scope: Scope | None = None,
) -> PipelineStatus:
    has_start, params = _params(conn, src, cfg, day, p, scope)
    ends_on_purchase = p.ends_on_purchase and src.has("payments")
    hanging = open_within = breached = 0
    hanging_by_age: dict[int, int] = {}
    owners: dict[str | None, list[int]] = {}
    rows = conn.execute(sa.text(_sql(src, ends_on_purchase, scope, params["excluded_ids"])), params) if has_start else []
    for is_hanging, is_breached, age_days, owner, n in rows:
        if is_hanging:
            hanging += n
            hanging_by_age[age_days] = hanging_by_age.get(age_days, 0) + n
            counts = owners.setdefault(owner, [0, 0])
            counts[0] += n
            counts[1] += n if is_breached else 0  # breached processes are all hanging ones
        else:
            open_within += n
        breached += n if is_breached else 0
    buckets = [
        AgeBucket(f"{lo}-{hi}", lo, hi, sum(n for a, n in hanging_by_age.items() if lo <= a <= hi))
        for lo, hi in cfg.hanging.age_buckets
    ]
    return PipelineStatus(
        name=p.name,
        start_event=p.start,
        sla_hours=p.sla_hours,
        hanging=hanging,
        open_within_sla=open_within,
        breached_today=breached,
        age_buckets=buckets,
        end_events=list(p.ends),
        by_owner=_by_owner(owners) if src.has("user_tags") else [],
    )


def compute(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None
) -> HangingResult:
    return HangingResult(
        report_date=day.day,
        lookback_days=cfg.hanging.lookback_days,
        pipelines=[_pipeline_status(conn, src, cfg, day, p, scope) for p in cfg.hanging.pipelines],
    )


def stuck_leads(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
    limit: int = 100_000,
) -> list[StuckLead]:
    """The hanging processes themselves, per pipeline oldest first: exactly the processes that
    `compute` counts as hanging (so at most the sum of the pipelines' `hanging`), and at most
    `limit` per pipeline."""
    cutoff = day.end.astimezone(UTC)
    out: list[StuckLead] = []
    for p in cfg.hanging.pipelines:
        has_start, params = _params(conn, src, cfg, day, p, scope)
        if not has_start:
            continue
        sql = _stuck_sql(src, p.ends_on_purchase and src.has("payments"), scope, params["excluded_ids"])
        for user_id, owner, since in conn.execute(sa.text(sql), params | {"limit": limit}):
            age = round((cutoff - since).total_seconds() / 3600, 2)
            out.append(StuckLead(p.name, int(user_id), owner, since, age))
    return out
