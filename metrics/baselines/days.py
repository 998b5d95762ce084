"""The days a baseline's SQL reads, and the day a series' data begin (metrics.baselines.series and
its siblings)."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import history_days
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS


def weekdays_of(day: ReportDay) -> list[date]:
    """D and the same weekday of the 8 weeks before it, oldest first: the session days a report
    builds when the store lacks them (the other days of the window count where built)."""
    return sorted([day.day, *history_days(day.day)])


def window(day: ReportDay, back: int = HISTORY_DAYS) -> list[date]:
    """Every day D-back ... D: the model of metrics.detector learns from all of them."""
    return [day.day - timedelta(days=back - i) for i in range(back + 1)]


def first_day(conn: Connection, src: Source, table: str, column: str, day: ReportDay) -> date | None:
    """The local day of the table's first row (one index probe).

    `order by ... limit 1`, not `min()`: on a table Postgres turns either into one probe of the
    time index, but through a view that joins (the docs' `events` over an event log and its
    types) only the first stays a probe; `min()` joined and sorted every row (0.16 s of 250k,
    four times a digest)."""
    first = conn.execute(sa.text(
        f"select {column}::timestamptz from {src.table(table)} where {column} is not null order by {column} limit 1"
    )).scalar()
    return None if first is None else first.astimezone(day.tz).date()
