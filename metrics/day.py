"""The report day: a calendar date in the report time zone and its half-open instant window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_midnight(d: date, timezone: str) -> datetime:
    """The instant a local day begins. combine() with a ZoneInfo resolves DST correctly: a
    spring-forward day is 23 hours long."""
    return datetime.combine(d, time(0), ZoneInfo(timezone))


@dataclass(frozen=True)
class ReportDay:
    day: date
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def midnight(self, d: date) -> datetime:
        return local_midnight(d, self.timezone)

    @property
    def start(self) -> datetime:
        return self.midnight(self.day)

    @property
    def end(self) -> datetime:
        """The cutoff T: the first instant after day D."""
        return self.midnight(self.day + timedelta(days=1))

    def day_hours_before(self, instant: datetime, hours: int) -> date:
        """The local day of `hours` before `instant`. Subtracted in UTC: aware datetimes in one
        zone subtract wall-clock time, an hour off across DST."""
        return (instant.astimezone(UTC) - timedelta(hours=hours)).astimezone(self.tz).date()

    def shifted(self, days: int) -> ReportDay:
        return ReportDay(self.day + timedelta(days=days), self.timezone)
