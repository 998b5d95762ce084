"""Pace: the period to date against its plan, and where the period will end (docs/plan.md).

For a number X with a plan for period P (a month or an ISO week) and report day D in P:

    actual    = X(P.start) + ... + X(D)
    projected = actual + E[X(D+1)] + ... + E[X(P.end)]
    share     = actual / plan;  projected share = projected / plan

E[X(d)] is the anomaly detector's own model of X (metrics.detector.project): a level that may
move times a weekday profile, fitted on up to 12 weeks of X up to and including D, its mean on
day d (a count's mu, money's log-normal mean). So a month whose weekends are still ahead is not
projected as a straight line. Without enough history for a model (fewer than 3 weeks) there is
no projection: `projected` is None. On P's last day projected = actual: the plan's result.

The days summed are X's own series (its metric's `series`, with the very definitions of the
daily digest); a day before the data begin counts 0. docs/plan.md works one month by hand.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from metrics.baselines import Series
from metrics.baselines.verdicts import projected
from metrics.periods import Period
from metrics.targets import MONEY, PLANNED, Target


@dataclass(frozen=True)
class Pace:
    """One plan's pace on day D (`day`)."""
    metric: str
    scope: str | None
    period: Period
    target: float
    day: date                               # D: the last day counted
    daily: tuple[float, ...]                # X on each day P.start ... D
    expected: tuple[float, ...] | None      # E[X] on each day D+1 ... P.end (None: no model)

    @property
    def money(self) -> bool:
        return self.metric in MONEY

    @property
    def actual(self) -> float:
        return round(sum(self.daily), 2)

    @property
    def days_done(self) -> int:
        return len(self.daily)

    @property
    def days_total(self) -> int:
        return self.period.days

    @property
    def complete(self) -> bool:
        return self.days_done == self.days_total

    @property
    def projected(self) -> float | None:
        if self.complete:
            return self.actual
        return None if self.expected is None else round(sum(self.daily) + sum(self.expected), 2)

    @property
    def share(self) -> float:
        return round(sum(self.daily) / self.target, 4)

    @property
    def projected_share(self) -> float | None:
        p = self.projected
        if p is None:
            return None
        exact = sum(self.daily) + (0.0 if self.complete else sum(self.expected))
        return round(exact / self.target, 4)

    def cumulative(self) -> list[float]:
        """The running total of each day done."""
        out, total = [], 0.0
        for x in self.daily:
            total += x
            out.append(total)
        return out

    def projected_path(self) -> list[float]:
        """The running total through each remaining day, from today's actual (empty: no model)."""
        out, total = [], sum(self.daily)
        for x in self.expected or ():
            total += x
            out.append(total)
        return out

    def to_json(self) -> dict:
        return {"metric": self.metric, "scope": self.scope, "period": self.period.kind,
                "start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                "target": self.target, "actual": self.actual, "projected": self.projected,
                "projected_share": self.projected_share, "days_done": self.days_done,
                "days_total": self.days_total}


def planned_series(series: Sequence[Series], metric: str) -> Series | None:
    """The daily series of a plannable number among `series`; `conversions` is every campaign
    channel's credited conversions added up (the numerators of their conversion rates)."""
    name, field = PLANNED[metric]
    if metric != "conversions":
        return next((s for s in series if (s.metric, s.field, s.key) == (name, field, None)), None)
    parts = [s for s in series if s.metric == "campaigns" and s.field == "conversion_rate"]
    if not parts:
        return None
    values: dict[date, float] = {}
    for s in parts:
        for d, v in (s.numerators or {}).items():
            values[d] = values.get(d, 0.0) + v
    firsts = [s.first_day for s in parts if s.first_day is not None]
    return Series("campaigns", None, "conversions", min(firsts) if firsts else None, values)


def pace_of(s: Series, target: Target, day: date, holidays: Iterable[date] = ()) -> Pace:
    """`target`'s pace on `day` (in its period) from its number's series `s`."""
    p = target.period
    if not p.contains(day):
        raise ValueError(f"{day} is not in the {p.kind} of {p.start}")
    done = [p.start + timedelta(days=i) for i in range((day - p.start).days + 1)]
    daily = tuple(float(s.value(d) or 0.0) for d in done)
    expected: tuple[float, ...] | None = ()
    if day < p.end:
        got = projected(s, day, p.end, holidays)
        expected = None if got is None else tuple(got[d] for d in sorted(got))
    return Pace(target.metric, target.scope, p, target.value, day, daily, expected)
