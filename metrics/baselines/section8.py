"""Section 8's detector as it shipped before section 12 (docs/normal.md): the benchmark's "today's"
and its hand-worked tests.

The same weekday of the previous 8 weeks, days before the data begin left out, no verdict with
fewer than 4; expected = median, band = expected +- 3 x max(spread, sqrt(expected), 1). The spread
is pooled over the 56 days before D (relative MAD around each weekday's median, POOL_MIN days, or
the 8 values' own MAD), rates get a binomial floor and no verdict below MIN_DENOMINATOR.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from db.source import Source
from metrics.baselines import Baseline, Series, SeriesFn, history_days
from metrics.config import MetricConfig
from metrics.day import ReportDay
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
                    b.expected if b else None, b.low if b else None, b.high if b else None, direction,
                    number=s.number)


# the numbers section 8 checked (it had no conversions and no close rates)
SECTION8 = {("new_payers", f) for f in ("new_payers", "new_payer_revenue", "revenue", "payments")} | {
    ("hanging", "breached_today"), ("attribution", "sessions"),
    ("campaigns", "total"), ("campaigns", "block_share"), ("campaigns", "conversion_rate")}


def section8_baselines(conn, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                       sources: Mapping[str, SeriesFn]) -> list[Baseline]:
    """Section 8's detector on the numbers it checked: one SQL query per metric over D-56 ... D."""
    return [baseline_of(s, day.day) for fn in sources.values() for s in fn(conn, src, cfg, day, scope, 7 * WEEKS)
            if (s.metric, s.field) in SECTION8]


