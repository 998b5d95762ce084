"""Channel attribution. (Result contract fixed; compute() is implemented in issue 4.)"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay

TABLES = ("web_events", "payments")


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    sessions: int  # sessions that started on D
    users: int  # their distinct stitched users
    conversions: float  # fractional credit stays fractional
    revenue: float


@dataclass(frozen=True)
class AttributionResult:
    report_date: date
    model: str
    lookback_days: int
    session_timeout_minutes: int
    channels: list[ChannelRow] = field(default_factory=list)  # the default model
    models: dict[str, list[ChannelRow]] = field(default_factory=dict)


def compute(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay) -> AttributionResult:
    raise NotImplementedError
