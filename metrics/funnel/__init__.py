"""Conversion funnel: a cohort of step-1 users, how far each got, broken down by segment.

Definitions (docs/metrics.md; T = cutoff = end of report day D in the report time zone):

- cohort window: the cohort_days calendar days ending D in the report time zone, [start, T).
- cohort (funnel.cohort): "first", users whose FIRST-EVER step-1 event falls in the cohort window
  (a user with an earlier step 1 is not new and is left out); "window", every user with a step-1
  event in the window (GA4's closed funnel). Minus experiment-flow users, either way. Step 1 is
  reached at the user's first step-1 event in the window (t1).
- step k (k > 1) is reached at the first occurrence at or after the instant step k-1 was reached,
  before t1 + conversion_days * 24 h (absolute time) and before T. Equal timestamps count, so one
  event can reach two consecutive steps that share an event name.
- per step: users; conversion_from_start = users / cohort; conversion_from_previous = users /
  users of step k-1 (fractions rounded to 4 places, None when the denominator is 0);
  median_hours_from_start = median over the users who reached the step of (reached - t1) in
  hours, rounded to 2 places (None when nobody reached it).

SQL finds the reached instants (metrics/funnel/sql.py); Python holds only the cohort's reached
times and, for clustering, the events of a bounded, deterministic sample of it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import median

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.channels import UNATTRIBUTED
from metrics.clusters import cluster_users
from metrics.common import event_ids, excluded_event_ids, ratio
from metrics.config import PURCHASE, MetricConfig
from metrics.day import ReportDay
from metrics.funnel.sql import cohort_events_sql, reach_sql
from metrics.scope import Scope, scope_binds


@dataclass(frozen=True)
class FunnelStep:
    event: str
    users: int
    conversion_from_start: float | None  # a fraction 0..1; None when the cohort is empty
    conversion_from_previous: float | None
    median_hours_from_start: float | None


@dataclass(frozen=True)
class FunnelSegment:
    kind: str  # "cluster" or "channel"
    name: str  # human-readable label, e.g. "reached Успешный ВУ fast"
    users: int
    steps: list[FunnelStep] = field(default_factory=list)


@dataclass(frozen=True)
class FunnelResult:
    report_date: date
    cohort_start: date  # first day of the cohort window (inclusive)
    cohort_end: date  # last day of the cohort window (inclusive) = report_date
    conversion_days: int
    steps: list[FunnelStep] = field(default_factory=list)
    segments: list[FunnelSegment] = field(default_factory=list)
    cohort_users: int = 0
    clustered_users: int = 0  # the clustering sample (<= funnel.max_cluster_users)
    cohort: str = "first"  # who is counted: metrics.config.FUNNEL_COHORTS


Reached = tuple[datetime | None, ...]  # the instant each step was reached; [0] is step 1


@dataclass(frozen=True)
class CohortReach:
    """Per-user reached instants of the cohort: the input of every segment breakdown."""

    steps: tuple[str, ...]
    users: dict[int, Reached]


def summarize(steps: tuple[str, ...], reached: Iterable[Reached]) -> list[FunnelStep]:
    """Per-step users, conversions and median hours from step 1, over the given users."""
    rows = list(reached)
    out: list[FunnelStep] = []
    cohort = previous = len(rows)
    for k, name in enumerate(steps):
        hours = [(r[k] - r[0]).total_seconds() / 3600 for r in rows if r[k] is not None]
        out.append(
            FunnelStep(
                event=name,
                users=len(hours),
                conversion_from_start=ratio(len(hours), cohort),
                conversion_from_previous=ratio(len(hours), previous),
                median_hours_from_start=round(median(hours), 2) if hours else None,
            )
        )
        previous = len(hours)
    return out


def _segments(kind: str, reach: CohortReach, label_of: Mapping[int, str]) -> list[FunnelSegment]:
    groups: dict[str, list[Reached]] = {}
    for user, label in label_of.items():
        if user in reach.users:
            groups.setdefault(label, []).append(reach.users[user])
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [FunnelSegment(kind, name, len(rows), summarize(reach.steps, rows)) for name, rows in ordered]


def channel_segments(per_user_steps: CohortReach, user_channel: dict[int, str]) -> list[FunnelSegment]:
    """Hook for attribution: one kind="channel" segment per acquisition channel of the cohort.

    user_channel maps cohort users to their channel (e.g. of their first session); cohort users
    it does not know are grouped as "Unattributed".
    """
    labels = {u: user_channel.get(u, UNATTRIBUTED) for u in per_user_steps.users}
    return _segments("channel", per_user_steps, labels)


def _sample(users: Iterable[int], limit: int) -> list[int]:
    """A deterministic pseudo-random sample: the same cohort always gives the same users."""
    return sorted(users, key=lambda u: ((u * 2654435761) % 2**32, u))[:limit]


def _params(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None) -> dict:
    return scope_binds(conn, src, scope) | {
        "cohort_start": day.midnight(day.day - timedelta(days=cfg.funnel.cohort_days - 1)),
        "cutoff": day.end.astimezone(UTC),
        "conversion_hours": cfg.funnel.conversion_days * 24,
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    }


def cohort_reach(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, params: dict | None = None,
    scope: Scope | None = None,
) -> CohortReach:
    """The cohort (funnel.cohort: first-ever step 1 in the cohort window, or any step 1 in it; the
    scope's users only when there is a scope) and when each user reached each step."""
    params = dict(params or _params(conn, src, cfg, day, scope))
    steps = cfg.funnel.steps
    ids = event_ids(conn, src, [s for s in steps if s != PURCHASE])
    for k, step in enumerate(steps, start=1):
        if step != PURCHASE:
            params[f"s{k}_ids"] = ids[step] or [-1]  # an unknown event name is never reached
    rows = conn.execute(sa.text(reach_sql(src, steps, scope, cfg.funnel.cohort, params["excluded_ids"])), params)
    return CohortReach(steps, {int(r[0]): tuple(r[1:]) for r in rows})


def cluster_segments(conn: Connection, src: Source, cfg: MetricConfig, reach: CohortReach, params: dict) -> tuple[list[FunnelSegment], int]:
    sample = _sample(reach.users, cfg.funnel.max_cluster_users)
    if not sample:
        return [], 0
    rows = conn.execute(
        sa.text(cohort_events_sql(src)),
        {**params, "user_ids": sample, "reached_1": [reach.users[u][0] for u in sample]},
    )
    # Columns, not Row objects: pandas inspects every Row when it is handed a list of them.
    data = rows.fetchall()
    user_ids, names, times = (list(c) for c in zip(*data)) if data else ([], [], [])
    events = pd.DataFrame({"user_id": user_ids, "event": names,
                           "happened_at": pd.to_datetime(times, utc=True)})
    reached = {u: [s for s, t in zip(reach.steps, reach.users[u]) if t is not None] for u in sample}
    labels = cluster_users(events, cfg.funnel.clusters, reached)
    return _segments("cluster", reach, labels), len(sample)


def compute(
    conn: Connection,
    src: Source,
    cfg: MetricConfig,
    day: ReportDay,
    channels: Callable[[CohortReach], dict[int, str]] | None = None,
    scope: Scope | None = None,
) -> FunnelResult:
    """`channels`, when given, maps the cohort to user -> acquisition channel (attribution).

    With a scope the cohort is the scope's users; clusters are then found among them (k-means over
    the scoped cohort, as if the company were those users)."""
    cohort_first = day.day - timedelta(days=cfg.funnel.cohort_days - 1)
    params = _params(conn, src, cfg, day, scope)
    reach = cohort_reach(conn, src, cfg, day, params, scope)
    segments, clustered = cluster_segments(conn, src, cfg, reach, params)
    if channels is not None:
        segments += channel_segments(reach, channels(reach))
    return FunnelResult(
        report_date=day.day,
        cohort_start=cohort_first,
        cohort_end=day.day,
        conversion_days=cfg.funnel.conversion_days,
        steps=summarize(cfg.funnel.steps, reach.users.values()),
        segments=segments,
        cohort_users=len(reach.users),
        clustered_users=clustered,
        cohort=cfg.funnel.cohort,
    )
