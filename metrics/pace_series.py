"""The daily digest's pace: the plans of the report day's week and month, each with the series of
its number (metrics.pace). The series are read as the detector reads them: finished days from
the baseline store (metrics.baselines.store), the last days computed afresh, so a digest that
already judged its numbers pays a few small queries for its pace."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series, SeriesFn
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.pace import Pace, pace_of, planned_series
from metrics.scope import Scope
from metrics.targets import PLANNED, targets_for


def checked_series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                   sources: Mapping[str, SeriesFn]) -> list[Series]:
    """The checked numbers of `sources` (metric -> its series) over D-84 ... D, through the
    baseline store when there is one."""
    from metrics.baselines.store import has_store, stored_series

    computes = {m: (lambda back, fn=fn: fn(conn, src, cfg, day, scope, back)) for m, fn in sources.items()}
    if not has_store(conn, src):
        return [s for compute in computes.values() for s in compute(HISTORY_DAYS)]
    return stored_series(conn, src, cfg, day, scope, computes)


def daily_pace(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
               sources: Mapping[str, SeriesFn]) -> list[Pace]:
    """The pace of every plan of `scope` whose week or month contains D, for the numbers whose
    metric is among `sources` (metric -> its series: the metrics that ran); in the order of
    metrics.targets.usable_targets."""
    targets = targets_for(conn, src, day.day, scope)
    wanted = {m: fn for m, fn in sources.items() if m in {PLANNED[t.metric][0] for t in targets}}
    if not wanted:
        return []
    if "attribution" in wanted:  # every day of the periods must be in the session store, not only D's weekdays
        from metrics.sessions.store import ensure_days

        first = min(t.period.start for t in targets)
        ensure_days(conn, src, cfg.attribution, day.timezone,
                    [first + timedelta(days=i) for i in range((day.day - first).days + 1)])
    found = checked_series(conn, src, cfg, day, scope, wanted)
    out = []
    for t in targets:
        s = planned_series(found, t.metric)
        if s is not None:
            out.append(pace_of(s, t, day.day, cfg.baselines.holidays))
    return out
