"""A conversion incident injected into a seeded dataset, for the detector benchmark.

One funnel step stops for half of the users for two weeks, traffic unchanged: the step's events
(`Выход МВУ на ВУ` by default: the teacher never joined half of the intro lessons) of every
user whose id hashes even are deleted over [start, start + days). Everything happens in the
caller's transaction, which the benchmark rolls back: the dataset stays clean.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.common import event_ids
from metrics.day import ReportDay

STEP = "Выход МВУ на ВУ"
DAYS = 14


def conversion_incident(conn: Connection, src: Source, start: date, tz: str, step: str = STEP,
                        days: int = DAYS) -> int:
    """Delete half of the users' `step` events in [start, start + days); returns the rows deleted."""
    ids = event_ids(conn, src, (step,))[step]
    lo, hi = ReportDay(start, tz).start, ReportDay(start + timedelta(days=days - 1), tz).end
    return conn.execute(sa.text(
        f"delete from {src.table('events')} where event_id = any(:ids) and happened_at >= :lo "
        "and happened_at < :hi and hashint8(user_id) % 2 = 0"), {"ids": ids, "lo": lo, "hi": hi}).rowcount
