"""Campaign performance. (Result contract fixed; compute() is implemented in issue 7.)"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay

TABLES = ("message_sends", "message_interactions", "payments")


@dataclass(frozen=True)
class CampaignRow:
    channel: str
    campaign: str | None  # None on the per-channel rows
    sent: int
    blocked: int
    blocked_by_reason: dict[str, int]
    failed: int
    opens: int
    human_clicks: int
    open_conversions: int
    click_conversions: int
    revenue: float
    cost: float
    roas: float | None  # None when cost is 0


@dataclass(frozen=True)
class CampaignResult:
    report_date: date
    channels: list[CampaignRow] = field(default_factory=list)
    campaigns: list[CampaignRow] = field(default_factory=list)


def compute(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay) -> CampaignResult:
    raise NotImplementedError
