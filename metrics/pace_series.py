"""The daily digest's pace: the plans of the report day's week and month, each with the series of
its number (metrics.pace). The series are read as the detector reads them: finished days from
the baseline store (metrics.baseline_store), the last days computed afresh, so a digest that
already judged its numbers pays a few small queries for its pace."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.pace import Pace, pace_of, planned_series
from metrics.scope import Scope
from metrics.targets import PLANNED, targets_for


def checked_series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                   metrics: Sequence[str]) -> list[Series]:
    """The checked numbers of `metrics` over D-84 ... D, through the baseline store when there is one."""
    from metrics.baseline_series import series
    from metrics.baseline_store import has_store, stored_series

    if not has_store(conn, src):
        return series(conn, src, cfg, day, scope, metrics)
    return stored_series(conn, src, cfg, day, scope, list(metrics),
                         lambda m, back: series(conn, src, cfg, day, scope, (m,), back))


def daily_pace(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
               metrics: Sequence[str] | None = None) -> list[Pace]:
    """The pace of every plan of `scope` whose week or month contains D, for the numbers of
    `metrics` (default: all) whose tables exist; in the order of metrics.targets.usable_targets."""
    from metrics.baseline_series import METRICS, TABLES

    targets = targets_for(conn, src, day.day, scope)
    wanted = {PLANNED[t.metric][0] for t in targets}
    names = [m for m in METRICS if m in wanted and (metrics is None or m in metrics) and src.has(*TABLES[m])]
    if not names:
        return []
    if "attribution" in names:  # every day of the periods must be in the session store, not only D's weekdays
        from metrics.sessions.store import ensure_days

        first = min(t.period.start for t in targets)
        ensure_days(conn, src, cfg.attribution, day.timezone,
                    [first + timedelta(days=i) for i in range((day.day - first).days + 1)])
    found = checked_series(conn, src, cfg, day, scope, names)
    out = []
    for t in targets:
        s = planned_series(found, t.metric)
        if s is not None:
            out.append(pace_of(s, t, day.day, cfg.baselines.holidays))
    return out
