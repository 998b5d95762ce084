"""When a weekly or monthly digest is due (docs/plan.md): the weekly on Monday for the week
before (Monday to Sunday), the monthly on the 1st for the month before, each at its own local
time in the chat's zone. Like the daily digest's run, a run reports on what ended the day before
it (bot.delivery.ledger.report_day), so a slot is (chat, period, that day) and a daily and a
weekly digest sent the same Monday are two slots.

No job of its own: the sweep (every minute) finds a due weekly or monthly digest as it finds a
missed daily one, so it goes out within a minute of its time and survives restarts the same way.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY, WEEK, MONTH = "day", "week", "month"
PERIODS = (DAY, WEEK, MONTH)


def sends_on(period: str, d: date) -> bool:
    """Whether the `period` digest goes out on local day `d`."""
    return period == DAY or (period == WEEK and d.weekday() == 0) or (period == MONTH and d.day == 1)


def last_run(period: str, at: time, tz: str, now: datetime) -> datetime:
    """The latest local `at` on a day the period's digest goes out, not after `now` (aware)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    for back in range(40):  # a month back and a day: the 1st before last is never needed
        d = today - timedelta(days=back)
        if sends_on(period, d) and (candidate := datetime.combine(d, at, zone)) <= now:
            return candidate
    raise AssertionError(f"no {period} run in the 40 days before {now}")


def next_run(period: str, at: time, tz: str, now: datetime) -> datetime:
    """The first local `at` on a day the period's digest goes out, after `now` (for /status)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    for ahead in range(40):
        d = today + timedelta(days=ahead)
        if sends_on(period, d) and (candidate := datetime.combine(d, at, zone)) > now:
            return candidate
    raise AssertionError(f"no {period} run in the 40 days after {now}")
