"""A Digest for one report day: computed once, then shared by every chat that receives it.

Composition only: metrics compute numbers, charts draw them, text.py words them. A metric whose
source tables are absent is off (reports.readiness: unless the configuration requires it, then
skipped), with a reason, never an error; a metric that fails is reported as failed without taking
the rest of the digest down.

A scope (docs/scopes.md; text such as "team:north & region:msk") restricts every metric to the
scope's users. It needs the optional user_tags table: without it a scoped report is an input
error; a scope nobody is in gives a report of zeros whose text says so.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.source import Source, inspect_source
from metrics.baselines import Baseline, anomalies
from metrics.config import MetricConfig
from metrics.scope import Scope, scope_params, scope_users_sql
from reports.baselines import checked, prepare_store, store_days
from reports.readiness import IS_OFF, readiness
from reports.registry import REGISTRY
from reports.registry import charts as chart_specs
from reports.request import ReportInputError, ReportRequest
from reports.serialize import jsonable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricOutcome:
    name: str
    result: Any | None = None
    skipped: str | None = None  # why the metric is not in this digest (missing tables, error)
    off: bool = False  # skipped because the configuration leaves it off (reports.readiness): no error
    notes: tuple[str, ...] = ()  # what it left out (optional tables missing), e.g. the exclusion


@dataclass(frozen=True)
class Chart:
    name: str
    png: bytes


@dataclass(frozen=True)
class Digest:
    report_date: date
    timezone: str
    locale: str
    outcomes: dict[str, MetricOutcome]
    text: str = ""
    charts: list[Chart] = field(default_factory=list)
    csv: str = ""
    scope: str | None = None  # canonical scope text ("region:msk & team:north"); None: company-wide
    scope_users: int | None = None  # users in the scope; None when company-wide
    baselines: list[Baseline] = field(default_factory=list)  # docs/normal.md: every checked number
    pace: list = field(default_factory=list)  # docs/plan.md: metrics.pace.Pace of each plan (reports.plan)

    def to_json(self) -> dict:
        return {
            "report_date": self.report_date.isoformat(),
            "timezone": self.timezone,
            "scope": self.scope,
            "scope_users": self.scope_users,
            "metrics": {
                name: jsonable(o.result) if o.result is not None else None
                for name, o in self.outcomes.items()
            },
            "skipped": {name: o.skipped for name, o in self.outcomes.items() if o.skipped and not o.off},
            "off": {name: o.skipped for name, o in self.outcomes.items() if o.off},
            "notes": {name: list(o.notes) for name, o in self.outcomes.items() if o.notes},
            "baselines": [b.to_json() for b in self.baselines],
            "anomalies": [b.to_json() for b in anomalies(self.baselines)],
            "pace": [p.to_json() for p in self.pace],
        }


def read_source(engine: Engine, req: ReportRequest) -> Source:
    """The source as this request reads it (which tables exist), inspected once per digest; a
    scope without a user_tags table is an input error."""
    with engine.connect() as conn:
        src = inspect_source(conn, req.source_schema, req.state_schema)
    check_scope_source(src, req.scope)
    return src


def compute_metrics(engine: Engine, src: Source, cfg: MetricConfig, req: ReportRequest,
                    progress: Callable[[str], None] | None = None) -> dict[str, MetricOutcome]:
    """Every metric of the request; `progress`, when given, is called with each stage's name as it
    starts: "sessions" (when attribution is asked for and web data exist), then each metric."""
    step = progress or (lambda _stage: None)
    outcomes: dict[str, MetricOutcome] = {}
    with engine.connect() as conn:
        if store_days(src, cfg, [req.day], req.metrics) is not None:
            step("sessions")
            prepare_store(engine, src, cfg, [req.day], req.metrics)
        for name in req.metrics:
            needs = REGISTRY[name].needs(cfg)
            ready = readiness(needs, cfg, src)
            step(name)
            if not ready.runs:
                outcomes[name] = MetricOutcome(name, skipped=ready.reason, off=ready.state == IS_OFF)
                continue
            notes = tuple(needs.notes(src))
            for note in notes:
                log.warning("metric %s on %s: %s", name, src.schema, note)
            outcome = _run_one(conn, REGISTRY[name], src, cfg, req)
            outcomes[name] = replace(outcome, notes=notes) if outcome.result is not None else outcome
    return outcomes


def compute_baselines(engine: Engine, src: Source, cfg: MetricConfig, req: ReportRequest,
                      outcomes: dict[str, MetricOutcome]) -> list[Baseline]:
    """The checked numbers of the metrics that ran, with their usual bands (metrics.baselines).

    Like a metric, a failure here is logged and leaves the digest without baselines rather than
    without a digest; a lost connection propagates (the database is down)."""
    ran = [n for n, o in outcomes.items() if o.result is not None and REGISTRY[n].series is not None]
    if not ran:
        return []
    try:
        with engine.connect() as conn, conn.begin():
            return checked(conn, src, cfg, req.day, req.scope, ran)
    except sa.exc.OperationalError:
        raise
    except Exception:
        log.exception("baselines failed for %s", req.day.day)
        return []


def check_scope_source(src: Source, scope: Scope | None) -> None:
    if scope is not None and not src.has("user_tags"):
        raise ReportInputError("error.scope_needs_tags", scope=scope, schema=src.schema)


def count_scope_users(engine: Engine, src: Source, scope: Scope) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"select count(*) from ({scope_users_sql(src)}) u"),
                                scope_params(scope)).scalar_one())


def _run_one(conn, spec, src, cfg: MetricConfig, req: ReportRequest) -> MetricOutcome:
    """One metric in its own transaction, so one failure cannot poison the others.

    A lost connection is the database being down: that propagates, so the caller can retry the
    whole digest. Anything else (a company table with an unexpected column type, a bug) fails this
    metric only, with the traceback in the log and a short reason in the digest.
    """
    try:
        with conn.begin():
            return MetricOutcome(spec.name, result=spec.compute(conn, src, cfg, req.day, req.scope))
    except sa.exc.OperationalError:
        raise
    except Exception as exc:
        log.exception("metric %s failed for %s", spec.name, req.day.day)
        return MetricOutcome(spec.name, skipped=f"failed ({type(exc).__name__})")


def build_digest(engine: Engine, cfg: MetricConfig, req: ReportRequest, *, with_charts: bool = True,
                 progress: Callable[[str], None] | None = None) -> Digest:
    """`progress` (from the caller's worker thread): "sessions", each metric name, "charts". A
    scope without a user_tags table raises ReportInputError."""
    from charts import render_charts  # lazy: matplotlib is only paid for when charts are drawn
    from charts.names import display_names
    from reports.plan import burnups, compute_pace, with_pace
    from reports.text import MESSAGE_LIMIT, build_lines, fit, render_csv

    src = read_source(engine, req)
    users = count_scope_users(engine, src, req.scope) if req.scope else None
    outcomes = compute_metrics(engine, src, cfg, req, progress)
    baselines = compute_baselines(engine, src, cfg, req, outcomes)
    pace = compute_pace(engine, src, cfg, req, [n for n, o in outcomes.items() if o.result is not None])
    day, locale = req.day, req.locale
    label = str(req.scope) if req.scope else None
    with display_names(cfg.display):  # the configured names of pipelines and steps, per language
        charts = []
        if with_charts:
            if progress:
                progress("charts")
            charts = [Chart(n, png) for n, png in render_charts(outcomes, day, locale, baselines, charts=chart_specs())]
            charts += [Chart(n, png) for n, png in burnups(pace, locale)]  # the plan's burn-ups
        lines = build_lines(outcomes, day, locale, scope=label, scope_users=users, baselines=baselines)
        text = fit([x.text for x in with_pace(lines, pace, locale, baselines)], MESSAGE_LIMIT, locale)
    return Digest(
        report_date=day.day,
        timezone=day.timezone,
        locale=locale,
        outcomes=outcomes,
        text=text,
        charts=charts,
        csv=render_csv(outcomes, day, label),
        scope=label,
        scope_users=users,
        baselines=baselines,
        pace=pace,
    )
