"""The week or the month in review (docs/plan.md): a digest of its own, sent on
Monday for the week before and on the 1st for the month before, through the same delivery
ledger as the daily digest (its slot is the chat, the period's kind and its last day).

It holds the period's numbers against the period before and the same period a year earlier
(where the data reach: metrics.review), the biggest movers against the period before
(metrics.movers), and the result of each plan of the period (a burn-up each). A request is a
ReportRequest whose `period` is "week" or "month" and whose day is the period's last day;
`build_report` sends a request of either kind where it belongs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine

from metrics.config import MetricConfig
from metrics.movers import Mover, movers
from metrics.pace import Pace
from metrics.periods import KINDS, Period, ending
from metrics.review import TOTALS, Ask, PeriodNumbers, read_periods
from reports.digest import Chart, build_digest, count_scope_users, read_source
from reports.request import ReportInputError, ReportRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Review:
    period: Period
    timezone: str
    locale: str
    now: PeriodNumbers
    previous: PeriodNumbers
    year_ago: PeriodNumbers
    movers: list[Mover] = field(default_factory=list)
    plan: list[Pace] = field(default_factory=list)
    text: str = ""
    charts: list[Chart] = field(default_factory=list)
    csv: str = ""
    scope: str | None = None
    scope_users: int | None = None

    @property
    def report_date(self):
        """The period's last day: what the ledger and the files are named after."""
        return self.period.end

    def to_json(self) -> dict:
        def span(p: Period) -> dict:
            return {"start": p.start.isoformat(), "end": p.end.isoformat()}

        return {
            "period": self.period.kind, **span(self.period), "timezone": self.timezone,
            "scope": self.scope, "scope_users": self.scope_users,
            "previous": span(self.previous.period), "year_ago": span(self.year_ago.period),
            "numbers": [{"name": n, "value": self.now.totals.get(n), "previous": self.previous.totals.get(n),
                         "year_ago": self.year_ago.totals.get(n)} for n in TOTALS],
            "movers": [m.to_json() for m in self.movers],
            "plan": [p.to_json() for p in self.plan],
        }


def review_period(req: ReportRequest) -> Period:
    """The period the request's day ends; an input error when it ends none."""
    if req.period not in KINDS:
        raise ValueError(f"not a period in review: {req.period!r}")
    p = ending(req.period, req.day.day)
    if p is None:
        raise ReportInputError(f"error.not_a_{req.period}_end", day=f"{req.day.day:%Y-%m-%d}")
    return p


def summed_sources(src, cfg: MetricConfig, metrics) -> dict:
    """The series of the request's metrics that have numbers summing over days and run on this
    source under this configuration (reports.readiness; a funnel's conversions do not add up to
    a month's)."""
    from reports.readiness import readiness
    from reports.registry import REGISTRY, series_of

    return {n: fn for n, fn in series_of(list(metrics)).items()
            if any(x.sums for x in REGISTRY[n].numbers) and readiness(REGISTRY[n].needs(cfg), cfg, src).runs}


def plan_results(conn, src, p: Period, now: PeriodNumbers, scope) -> list[Pace]:
    """Each plan of the period with what the period did: a pace with no day left. A plan that
    cannot be read (a broken view) leaves the review without it, logged, as the digest does."""
    import sqlalchemy as sa

    from metrics.targets import targets_for

    try:
        with conn.begin_nested():
            found = targets_for(conn, src, p.end, scope, kinds=(p.kind,))
    except sa.exc.OperationalError:
        raise
    except Exception:
        log.exception("the plan of the %s of %s failed", p.kind, p.start)
        return []
    return [Pace(t.metric, t.scope, p, t.value, p.end, tuple(now.daily[t.metric][d] for d in p.dates()), ())
            for t in found if t.metric in now.daily]


def build_review(engine: Engine, cfg: MetricConfig, req: ReportRequest, *, with_charts: bool = True,
                 progress: Callable[[str], None] | None = None) -> Review:
    from charts.names import display_names
    from reports.plan import burnups
    from reports.review_text import review_csv, review_text

    step = progress or (lambda _stage: None)
    p = review_period(req)
    src = read_source(engine, req)
    users = count_scope_users(engine, src, req.scope) if req.scope else None
    ask = Ask((p, p.previous(), p.year_before()), req.day.timezone, req.scope, summed_sources(src, cfg, req.metrics),
              frozenset({p, p.previous()}))
    step("sessions")
    with engine.connect() as conn, conn.begin():
        got = read_periods(conn, src, cfg, ask)
        plan = plan_results(conn, src, p, got[p], req.scope)
    label = str(req.scope) if req.scope else None
    review = Review(p, req.day.timezone, req.locale, got[p], got[p.previous()], got[p.year_before()],
                    movers(got[p], got[p.previous()]), plan, scope=label, scope_users=users)
    with display_names(cfg.display):
        text = review_text(review, req.locale)
    charts = []
    if with_charts and plan:
        step("charts")
        charts = [Chart(n, png) for n, png in burnups(plan, req.locale)]
    return replace(review, text=text, charts=charts, csv=review_csv(review))


def build_report(engine: Engine, cfg: MetricConfig, req: ReportRequest, **kw: Any):
    """The daily digest, or the week or month in review, as the request's period says."""
    if req.period == "day":
        return build_digest(engine, cfg, req, **kw)
    return build_review(engine, cfg, req, **kw)

