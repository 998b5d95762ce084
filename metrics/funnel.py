"""Conversion funnel. (Result contract fixed; compute() is implemented in issue 3.)"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay

TABLES = ("events", "events_dict", "payments")


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


def compute(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay) -> FunnelResult:
    raise NotImplementedError
