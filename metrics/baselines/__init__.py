"""Is today normal? The checked daily numbers and their verdicts (docs/normal.md).

The interface the digest, the JSON and the alert rules share: names and fields below are the
contract; do not rename them.

Target names (what `/alert TARGET ...` and `salespulse alerts backtest TARGET` accept for flow
targets) are `Baseline.target`:
    new_payers, new_payer_revenue, revenue, payments        (metric new_payers, key None)
    breached.<pipeline>, close_rate.<pipeline>              (metric hanging, fields breached_today,
                                                             close_rate)
    conversion.<step>                                       (metric funnel, field step_conversion)
    sessions, sessions.<channel>                            (metric attribution, field sessions)
    sends.<channel>, block_share.<channel>, conversions.<channel>   (metric campaigns; fields
        total, block_share, conversion_rate)
State targets (`hanging`, `hanging.<pipeline>`: processes hanging at this moment) are not
baselines; the alert rules evaluate them themselves.

Which numbers there are is each metric's declaration (metrics.checked.Number, the metric's
`NUMBERS`) and their daily values its `series`; a Series and a Baseline carry their Number.

`daily_baselines` is section 12's detector (docs/normal.md): a level that may move times a
weekday profile over 12 weeks, bands from each number's nature, sustained shifts, drivers
(metrics.detector, metrics.baselines.verdicts). Section 8's detector, as it shipped before it, is
metrics.baselines.section8: the benchmark's "today's", and its hand-worked tests.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from db.source import Source
from metrics.checked import RATE, UNDECLARED, Number
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.detector.drivers import Driver
from metrics.scope import Scope


@dataclass(frozen=True)
class WindowSum:
    """A sustained shift: the last `days` days summed (a rate: pooled) against their band."""
    days: int
    value: float
    expected: float
    low: float
    high: float

    def to_json(self) -> dict:
        return {"days": self.days, "value": self.value, "expected": self.expected, "low": self.low,
                "high": self.high}


@dataclass(frozen=True)
class Baseline:
    metric: str          # the JSON block of the metric it belongs to
    key: str | None      # pipeline, channel or funnel step; None for company-wide numbers
    field: str           # the number's key in its metric's JSON block, e.g. "breached_today"
    value: float | None  # D's value (None: no data on D)
    expected: float | None
    low: float | None
    high: float | None
    direction: str | None  # "low" / "high" outside the band; None inside it or without a verdict
    since: date | None = None      # a sustained shift: the first day of its run
    drivers: tuple[Driver, ...] = ()
    p: float | None = None         # the verdict's tail probability (the block ranks by it)
    window: WindowSum | None = None  # the days summed when a sustained shift flagged
    share: float | None = None     # a keyed number: its usual share of its total (the block's 5% rule)
    # what the number is (its metric's declaration): its kind, weight and alert target's name
    number: Number = dataclasses.field(default=UNDECLARED, compare=False, repr=False)

    @property
    def target(self) -> str:
        name = self.number.name if self.number is not UNDECLARED else self.field
        return name if self.key is None else f"{name}.{self.key}"

    @property
    def is_rate(self) -> bool:
        return self.number.kind == RATE

    @property
    def weight(self) -> int:
        return self.number.weight_of(self.key is not None)

    def to_json(self) -> dict:
        return {"metric": self.metric, "key": self.key, "field": self.field, "value": self.value,
                "expected": self.expected, "low": self.low, "high": self.high, "direction": self.direction,
                "since": self.since.isoformat() if self.since else None,
                "drivers": [d.to_json() for d in self.drivers],
                "window": self.window.to_json() if self.window else None}


def history_days(day: date, weeks: int = 8) -> list[date]:
    """The same weekday of the previous `weeks` weeks, newest first (local calendar days: a DST
    week is still 7 days back)."""
    return [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]


@dataclass(frozen=True)
class Slice:
    """One part of a number along a dimension, day by day (a missing day is 0); a rate's slice
    holds numerators and denominators."""
    dimension: str
    key: str
    values: dict[date, float]
    denominators: dict[date, float] | None = None
    known: frozenset[date] | None = None  # the days the slice can be known (None: as its number)


@dataclass(frozen=True)
class Series:
    """One checked number's daily values over the days a baseline reads (D-56 ... D)."""
    metric: str
    key: str | None
    field: str
    first_day: date | None  # the first day with data (None: no data at all)
    values: dict[date, float]  # a day with data but missing here is 0
    denominators: dict[date, float] | None = None  # rates only; a missing day is 0
    known: frozenset[date] | None = None  # the days with data at all (None: every day from first_day)
    numerators: dict[date, float] | None = None  # rates: the count the share is of (exact, unrounded)
    counts: dict[date, float] | None = None  # money: how many payments made it
    slices: tuple[Slice, ...] = ()  # the number split by a dimension, for its drivers
    number: Number = dataclasses.field(default=UNDECLARED, compare=False, repr=False)  # its declaration

    @property
    def target(self) -> str:
        name = self.number.name if self.number is not UNDECLARED else self.field
        return name if self.key is None else f"{name}.{self.key}"

    def value(self, d: date) -> float | None:
        if self.first_day is None or d < self.first_day:
            return None
        if self.known is not None and d not in self.known:
            return None
        if self.denominators is not None and not self.denominators.get(d):
            return None  # a rate of nothing
        return self.values.get(d, 0.0)

    def denominator(self, d: date) -> float | None:
        if self.denominators is None or self.first_day is None or d < self.first_day:
            return None
        return self.denominators.get(d, 0.0)


# A metric's checked numbers day by day over D-back ... D: (conn, src, cfg, day, scope, back).
SeriesFn = Callable[..., list[Series]]


def daily_baselines(conn, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                    sources: Mapping[str, SeriesFn]) -> list[Baseline]:
    """Every checked number of D with its verdict, shift and drivers (docs/normal.md): each
    metric's `series` over D-84 ... D (its finished days kept in the state schema), then
    metrics.detector. `sources`: metric name -> its series function (the metric specs')."""
    from metrics.baselines.store import has_store, stored_series
    from metrics.baselines.verdicts import judge_all, with_payer_drivers

    def over(fn: SeriesFn) -> Callable[[int], list[Series]]:
        return lambda back: fn(conn, src, cfg, day, scope, back)

    computes = {name: over(fn) for name, fn in sources.items()}
    if has_store(conn, src):  # finished days are kept in the state schema: only the rest is computed
        found = stored_series(conn, src, cfg, day, scope, computes)
    else:
        found = [s for compute in computes.values() for s in compute(HISTORY_DAYS)]
    out = judge_all(found, day.day, cfg.baselines.holidays)
    return with_payer_drivers(conn, src, cfg, day, scope, (found, out))


def anomalies(baselines: Sequence[Baseline]) -> list[Baseline]:
    return [b for b in baselines if b.direction is not None]
