"""Hanging business processes. (Result contract fixed; compute() is implemented in issue 3.)"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay

TABLES = ("events", "events_dict")


@dataclass(frozen=True)
class AgeBucket:
    label: str  # e.g. "1-2" (days)
    from_days: int
    to_days: int
    users: int


@dataclass(frozen=True)
class PipelineStatus:
    name: str
    start_event: str
    sla_hours: float
    hanging: int
    open_within_sla: int
    breached_today: int
    age_buckets: list[AgeBucket] = field(default_factory=list)


@dataclass(frozen=True)
class HangingResult:
    report_date: date
    lookback_days: int
    pipelines: list[PipelineStatus] = field(default_factory=list)


def compute(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay) -> HangingResult:
    raise NotImplementedError
