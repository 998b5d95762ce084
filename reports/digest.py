"""A Digest for one report day: computed once, then shared by every chat that receives it.

Composition only: metrics compute numbers, charts draw them, text.py words them. A metric whose
source tables are absent is skipped with a reason, never an error; a metric that fails is
reported as failed without taking the rest of the digest down.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.source import inspect_source
from metrics.config import MetricConfig
from metrics.day import ReportDay
from reports.registry import REGISTRY
from reports.request import METRICS
from reports.serialize import jsonable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricOutcome:
    name: str
    result: Any | None = None
    skipped: str | None = None  # why the metric is not in this digest (missing tables, error)


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

    def to_json(self) -> dict:
        return {
            "report_date": self.report_date.isoformat(),
            "timezone": self.timezone,
            "metrics": {
                name: jsonable(o.result) if o.result is not None else None
                for name, o in self.outcomes.items()
            },
            "skipped": {name: o.skipped for name, o in self.outcomes.items() if o.skipped},
        }


def compute_metrics(
    engine: Engine,
    source_schema: str,
    cfg: MetricConfig,
    day: ReportDay,
    names: tuple[str, ...] = METRICS,
    state_schema: str = "salespulse",
) -> dict[str, MetricOutcome]:
    outcomes: dict[str, MetricOutcome] = {}
    with engine.connect() as conn:
        src = inspect_source(conn, source_schema, state_schema)
        conn.commit()
        for name in names:
            spec = REGISTRY[name]
            missing = src.missing(*spec.tables)
            if missing:
                outcomes[name] = MetricOutcome(name, skipped=f"no table {', '.join(missing)}")
                continue
            outcomes[name] = _run_one(conn, spec, src, cfg, day)
    return outcomes


def _run_one(conn, spec, src, cfg: MetricConfig, day: ReportDay) -> MetricOutcome:
    """One metric in its own transaction, so one failure cannot poison the others.

    A lost connection is the database being down: that propagates, so the caller can retry the
    whole digest. Anything else (a company table with an unexpected column type, a bug) fails this
    metric only, with the traceback in the log and a short reason in the digest.
    """
    try:
        with conn.begin():
            return MetricOutcome(spec.name, result=spec.compute(conn, src, cfg, day))
    except sa.exc.OperationalError:
        raise
    except Exception as exc:
        log.exception("metric %s failed for %s", spec.name, day.day)
        return MetricOutcome(spec.name, skipped=f"failed ({type(exc).__name__})")


def build_digest(
    engine: Engine,
    source_schema: str,
    cfg: MetricConfig,
    day: ReportDay,
    locale: str = "en",
    names: tuple[str, ...] = METRICS,
    with_charts: bool = True,
    state_schema: str = "salespulse",
) -> Digest:
    from charts import render_charts  # lazy: matplotlib is only paid for when charts are drawn
    from reports.text import render_csv, render_text

    outcomes = compute_metrics(engine, source_schema, cfg, day, names, state_schema)
    return Digest(
        report_date=day.day,
        timezone=day.timezone,
        locale=locale,
        outcomes=outcomes,
        text=render_text(outcomes, day, locale),
        charts=[Chart(n, png) for n, png in render_charts(outcomes, day, locale)] if with_charts else [],
        csv=render_csv(outcomes, day),
    )
