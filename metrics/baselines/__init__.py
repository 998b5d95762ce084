"""Is today normal? The checked daily numbers and their verdicts (DESIGN sections 8 and 12).

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

`daily_baselines` is section 12's detector (docs/normal.md): a level that may move times a
weekday profile over 12 weeks, bands from each number's nature, sustained shifts, drivers
(metrics.detector, metrics.baselines.verdicts). Section 8's detector stays below as it shipped
(`band`, `verdict`, `pooled_spread`, `baseline_of`, `section8_baselines`): the benchmark's
"today's", and its hand-worked tests. Section 8, measured: the same weekday of the previous 8
weeks, expected = median, band = expected +- 3 x max(spread, sqrt(expected), 1), the spread
pooled over the 56 days before D (relative MAD around each weekday's median, POOL_MIN days or
the 8 values' own MAD), rates with a binomial floor and no verdict below MIN_DENOMINATOR.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.detector.drivers import Driver
from metrics.detector.numbers import NumberSpec, spec_of
from metrics.scope import Scope

WEEKS = 8          # D-7 ... D-56
MIN_WEEKS = 4      # fewer same-weekday days with data: no verdict
MIN_DENOMINATOR = 20  # rates get no verdict below this
WIDTH = 3.0        # band half-width in units of the noise
MAD_SCALE = 1.4826  # MAD of a normal sample x this = its standard deviation
POOL_MIN = 28      # days of residuals the pooled spread needs (else the 8 weeks' own MAD)


@dataclass(frozen=True)
class Band:
    expected: float
    low: float
    high: float


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
    metric: str          # the metric's JSON block: "new_payers", "hanging", "attribution", "campaigns", "funnel"
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

    @property
    def target(self) -> str:
        name = TARGET_NAMES.get((self.metric, self.field), self.field)
        return name if self.key is None else f"{name}.{self.key}"

    @property
    def is_rate(self) -> bool:
        return (self.metric, self.field) in RATES

    @property
    def spec(self) -> NumberSpec:
        return spec_of(self.metric, self.field, self.key is not None)

    def to_json(self) -> dict:
        return {"metric": self.metric, "key": self.key, "field": self.field, "value": self.value,
                "expected": self.expected, "low": self.low, "high": self.high, "direction": self.direction,
                "since": self.since.isoformat() if self.since else None,
                "drivers": [d.to_json() for d in self.drivers],
                "window": self.window.to_json() if self.window else None}


# (metric, field) -> the target's name where it differs from the field
TARGET_NAMES: dict[tuple[str, str], str] = {
    ("hanging", "breached_today"): "breached",
    ("hanging", "close_rate"): "close_rate",
    ("campaigns", "total"): "sends",
    ("campaigns", "conversion_rate"): "conversions",
    ("funnel", "step_conversion"): "conversion",
}
RATES = {("campaigns", "block_share"), ("campaigns", "conversion_rate"), ("hanging", "close_rate"),
         ("funnel", "step_conversion")}


def history_days(day: date) -> list[date]:
    """The same weekday of the previous WEEKS weeks, newest first (local calendar days: a DST
    week is still 7 days back)."""
    return [day - timedelta(days=7 * k) for k in range(1, WEEKS + 1)]


def band(history: Sequence[float], denominators: Sequence[float] | None = None,
         relative_spread: float | None = None) -> Band | None:
    """The usual band from the same weekday of the previous weeks (days without data left out).
    None without a verdict (fewer than MIN_WEEKS values; a rate whose denominator is below
    MIN_DENOMINATOR).

    `denominators` given: the values are rates, each with its day's denominator; days whose
    denominator is below MIN_DENOMINATOR are left out before counting.
    `relative_spread` given (`pooled_spread`): spread = it x expected, instead of 1.4826 x MAD
    of the 8 values themselves."""
    if denominators is not None:
        kept = [(v, n) for v, n in zip(history, denominators, strict=True)
                if v is not None and n is not None and n >= MIN_DENOMINATOR]
        values = [v for v, _ in kept]
    else:
        values = [v for v in history if v is not None]
    if len(values) < MIN_WEEKS:
        return None
    expected = float(median(values))
    if relative_spread is None:
        spread = MAD_SCALE * float(median(abs(v - expected) for v in values))
    else:
        spread = relative_spread * expected
    if denominators is None:
        floor = max(math.sqrt(expected), 1.0)
    else:
        n = float(median(n for _, n in kept))
        p = min(max(expected, 0.0), 1.0)
        # one event in n is the rate's granularity, as 1 is a count's
        floor = max(math.sqrt(p * (1 - p) / n), 1 / n)
    half = WIDTH * max(spread, floor)
    return Band(round(expected, 4), round(max(expected - half, 0.0), 4), round(expected + half, 4))


def verdict(value: float | None, b: Band | None, denominator: float | None = None) -> str | None:
    """"low" / "high" when `value` lies outside the band; None inside it or without a verdict (no
    band, no value, or a rate whose own denominator is below MIN_DENOMINATOR)."""
    if b is None or value is None:
        return None
    if denominator is not None and denominator < MIN_DENOMINATOR:
        return None
    if value < b.low:
        return "low"
    if value > b.high:
        return "high"
    return None


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

    @property
    def target(self) -> str:
        name = TARGET_NAMES.get((self.metric, self.field), self.field)
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


def pooled_spread(value: Callable[[date], float | None], day: date) -> float | None:
    """The relative day-to-day noise of D-56 ... D-1 with the weekly pattern taken out: 1.4826 x
    MAD of (x - m) / m, m being the median of x's own weekday, from up to 56 days instead of 8.
    Relative, so a quiet weekend and a busy Monday pool together. None when fewer than POOL_MIN
    days can be used (a weekday counts with at least MIN_WEEKS values and a median above 0)."""
    groups: dict[int, list[float]] = {}
    for i in range(1, 7 * WEEKS + 1):
        d = day - timedelta(days=i)
        v = value(d)
        if v is not None:
            groups.setdefault(d.weekday(), []).append(v)
    residuals = []
    for g in groups.values():
        m = median(g)
        if len(g) >= MIN_WEEKS and m > 0:
            residuals += [(v - m) / m for v in g]
    if len(residuals) < POOL_MIN:
        return None
    centre = median(residuals)
    return MAD_SCALE * float(median(abs(r - centre) for r in residuals))


def baseline_of(s: Series, day: date) -> Baseline:
    past = history_days(day)
    hist = [s.value(d) for d in past]
    dens = [s.denominator(d) for d in past] if s.denominators is not None else None
    b = band(hist, dens, None if s.denominators is not None else pooled_spread(s.value, day))
    value = s.value(day)
    direction = verdict(value, b, s.denominator(day) if s.denominators is not None else None)
    return Baseline(s.metric, s.key, s.field, value,
                    b.expected if b else None, b.low if b else None, b.high if b else None, direction)


def daily_baselines(conn, src: Source, cfg: MetricConfig, day: ReportDay,
                    scope: Scope | None = None, metrics: Sequence[str] | None = None) -> list[Baseline]:
    """Every checked number of D with its band, verdict, shift and drivers (DESIGN section 12):
    one SQL query per metric over D-84 ... D, then metrics.detector.

    `metrics`: only these metrics' numbers (default: every metric whose source tables exist)."""
    from metrics.baselines.series import (  # the SQL half, imported here to keep this light
        METRICS,
        TABLES,
        series,
    )
    from metrics.baselines.store import has_store, stored_series
    from metrics.baselines.verdicts import judge_all, with_payer_drivers

    if has_store(conn, src):  # finished days are kept in the state schema: only the rest is computed
        names = [m for m in METRICS if (metrics is None or m in metrics) and src.has(*TABLES[m])]
        found = stored_series(conn, src, cfg, day, scope, names,
                              lambda m, back: series(conn, src, cfg, day, scope, (m,), back))
    else:
        found = series(conn, src, cfg, day, scope, metrics)
    out = judge_all(found, day.day, cfg.baselines.holidays)
    return with_payer_drivers(conn, src, cfg, day, scope, found, out)


# the numbers section 8 checked (it had no conversions and no close rates)
SECTION8 = {("new_payers", f) for f in ("new_payers", "new_payer_revenue", "revenue", "payments")} | {
    ("hanging", "breached_today"), ("attribution", "sessions"),
    ("campaigns", "total"), ("campaigns", "block_share"), ("campaigns", "conversion_rate")}


def section8_baselines(conn, src: Source, cfg: MetricConfig, day: ReportDay,
                       scope: Scope | None = None, metrics: Sequence[str] | None = None) -> list[Baseline]:
    """Section 8's detector as it shipped before section 12 (the benchmark's 'today's'): the
    same weekday of 8 weeks, one SQL query per metric over D-56 ... D."""
    from metrics.baselines.series import series

    return [baseline_of(s, day.day) for s in series(conn, src, cfg, day, scope, metrics, back=7 * WEEKS)
            if (s.metric, s.field) in SECTION8]


def anomalies(baselines: Sequence[Baseline]) -> list[Baseline]:
    return [b for b in baselines if b.direction is not None]
