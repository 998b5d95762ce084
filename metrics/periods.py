"""Weeks and months as the plan and the reviews count them (docs/plan.md).

A week is Monday to Sunday (ISO), a month a calendar month, both in the report time zone's local
days. A period is known by its kind and its first day; its last day is what the delivery ledger
keys a weekly or monthly digest on (the day before the Monday or the 1st it is sent, exactly as
a daily digest is keyed on the day before its morning).

"The same period a year earlier": the same calendar month a year before; for a week, the week 52
weeks before (364 days), so Monday lies under Monday.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DAY, WEEK, MONTH = "day", "week", "month"
KINDS = (WEEK, MONTH)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    kind: str    # WEEK or MONTH
    start: date  # its first day (a Monday, or the 1st)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a period is a week or a month, not {self.kind!r}")
        if self.start != period_start(self.kind, self.start):
            raise ValueError(f"a {self.kind} starts on {period_start(self.kind, self.start)}, not {self.start}")

    @property
    def end(self) -> date:
        """Its last day."""
        if self.kind == WEEK:
            return self.start + timedelta(days=6)
        return _next_month(self.start) - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def previous(self) -> Period:
        return containing(self.kind, self.start - timedelta(days=1))

    def year_before(self) -> Period:
        if self.kind == WEEK:
            return Period(WEEK, self.start - timedelta(weeks=52))
        return Period(MONTH, date(self.start.year - 1, self.start.month, 1))


def period_start(kind: str, d: date) -> date:
    """The first day of the `kind` period that contains `d`."""
    if kind == WEEK:
        return d - timedelta(days=d.weekday())
    if kind == MONTH:
        return _month_start(d)
    raise ValueError(f"a period is a week or a month, not {kind!r}")


def containing(kind: str, d: date) -> Period:
    return Period(kind, period_start(kind, d))


def ending(kind: str, last: date) -> Period | None:
    """The period whose last day is `last` (None when `last` ends no such period)."""
    p = containing(kind, last)
    return p if p.end == last else None


def last_complete(kind: str, today: date) -> Period:
    """The latest period that ended before `today` (the one a weekly or monthly digest sent today
    reviews)."""
    return containing(kind, period_start(kind, today) - timedelta(days=1))
