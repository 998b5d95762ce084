"""The checked numbers' series (metrics.baselines.series) through the detector (metrics.detector):
one Baseline per number, with its band, verdict, sustained shift and drivers (docs/normal.md).

The glue between dates and the detector's positions: a Series becomes a History over D-84 ... D
(days before the data begin and days the store has not built are "no data"; holidays from the
configuration get no verdict and are left out of every fit), and the detector's Verdict becomes
the Baseline the digest, the JSON and the alert rules read.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa

from metrics.baselines import Baseline, Series, WindowSum
from metrics.checked import COUNT, MONEY, RATE, UNDECLARED
from metrics.detector.check import HISTORY_DAYS, History, Verdict, check
from metrics.detector.drivers import Part, contributions

MAX_DRIVERS = 3
log = logging.getLogger(__name__)


def days_back(day: date, back: int = HISTORY_DAYS) -> list[date]:
    return [day - timedelta(days=back - i) for i in range(back + 1)]


def history_of(s: Series, day: date, holidays: Iterable[date] = (), back: int = HISTORY_DAYS) -> History:
    days = days_back(day, back)
    kind = _kind(s)
    values = np.array([np.nan if s.value(d) is None else s.value(d) for d in days], float)
    totals = None
    if kind == RATE:
        nums = s.numerators or {}
        values = np.array([np.nan if np.isnan(v) else nums.get(d, round(v * s.denominator(d)))
                           for v, d in zip(values, days, strict=True)], float)
        totals = np.array([s.denominator(d) or 0.0 for d in days], float)
    elif kind == MONEY and s.counts is not None:
        totals = np.array([s.counts.get(d, 0.0) for d in days], float)
    hol = frozenset(holidays)
    return History(kind, values, np.array([d.weekday() for d in days]), np.array([d in hol for d in days]), totals)


def _kind(s: Series) -> str:
    """The number's declared kind; a hand-built series without a declaration by its shape."""
    if s.number is not UNDECLARED:
        return s.number.kind
    return RATE if s.denominators is not None else COUNT


def _tail(s: Series) -> float:
    return s.number.tail(s.key is not None)


def judge(s: Series, day: date, holidays: Iterable[date] = ()) -> Baseline:
    """One number's Baseline on `day`, drivers included when it is an anomaly."""
    v = check(history_of(s, day, holidays), _tail(s))
    b = to_baseline(s, day, v)
    return with_drivers(b, s, day, holidays) if v.direction and s.slices else b


def to_baseline(s: Series, day: date, v: Verdict) -> Baseline:
    since = None
    if v.since is not None:
        since = day - timedelta(days=HISTORY_DAYS - v.since)
    window = None
    if v.window is not None:
        w = v.window
        window = WindowSum(w.days, w.value, w.expected, w.low, w.high)
    return Baseline(s.metric, s.key, s.field, v.value, v.expected, v.low, v.high, v.direction,
                    since=since, p=v.p, window=window, number=s.number)


def with_drivers(b: Baseline, s: Series, day: date, holidays: Iterable[date] = ()) -> Baseline:
    """`b` naming the slice that moved it most in each of `s`'s dimensions, biggest first: over
    the days its verdict is about (D, or the days of the sustained shift that flagged it)."""
    from dataclasses import replace

    if b.direction is None or not s.slices:
        return b
    span = b.window.days if b.window is not None and not _day_flagged(b) else 1
    parts = []
    for sl in s.slices:
        sub = Series(s.metric, s.key, s.field, s.first_day, sl.values, sl.denominators,
                     s.known if sl.known is None else sl.known,
                     numerators=sl.values if sl.denominators is not None else None, number=s.number)
        parts.append(Part(sl.dimension, sl.key, history_of(sub, day, holidays)))
    return replace(b, drivers=tuple(contributions(parts, span, b.direction)[:MAX_DRIVERS]))


def _day_flagged(b: Baseline) -> bool:
    return b.value is not None and b.low is not None and b.high is not None and not b.low <= b.value <= b.high


def judge_all(series: Sequence[Series], day: date, holidays: Iterable[date] = ()) -> list[Baseline]:
    """Every number's Baseline, each keyed number with its usual share of its total."""
    hol = frozenset(holidays)
    out = [judge(s, day, hol) for s in series]
    return with_shares(out, series, day)


def with_shares(baselines: list[Baseline], series: Sequence[Series], day: date) -> list[Baseline]:
    """A keyed count's share of its total over the last 28 days (a rate's: of the denominators):
    the block never opens with a slice under 5% of its total (reports.attention)."""
    from dataclasses import replace

    sums: dict[tuple[str, str], float] = {}
    own: list[float] = []
    last = [day - timedelta(days=i) for i in range(28)]
    for s in series:
        src = s.denominators if s.denominators is not None else s.values
        x = sum(src.get(d, 0.0) for d in last)
        own.append(x)
        if s.key is not None:
            sums[s.metric, _whole(s)] = sums.get((s.metric, _whole(s)), 0.0) + x
    out = []
    for b, s, x in zip(baselines, series, own, strict=True):
        total = sums.get((s.metric, _whole(s)), 0.0)
        share = round(x / total, 4) if s.key is not None and total > 0 and s.number.parts else None
        out.append(replace(b, share=share))
    return out


def _whole(s: Series) -> str:
    """The field whose keyed values make the whole `s` is a part of (a send channel's rates: its
    sends, metrics.checked.Number.share_of)."""
    return s.number.share_of or s.field


def with_payer_drivers(conn, src, cfg, day, scope, judged: tuple[Sequence[Series], list[Baseline]]) -> list[Baseline]:
    """The money numbers' drivers, read only when one of them is unusual: their slices cost a
    query of their own (metrics.baselines.slices; its finished days kept like the numbers'),
    which an ordinary day does without. `judged`: the series and their Baselines, in one order."""
    from dataclasses import replace

    from metrics.baselines.slices import SLICES, as_slices, payer_slices
    from metrics.baselines.store import has_store, stored_series

    series, out = judged

    if not any(b.direction and b.metric == "new_payers" for b in out):
        return out
    try:
        with conn.begin_nested():  # a driver is an extra: its failure leaves the verdicts as they are
            if has_store(conn, src):
                found = stored_series(conn, src, cfg, day, scope,
                                      {SLICES: lambda back: payer_slices(conn, src, cfg, day, scope, back)})
            else:
                found = payer_slices(conn, src, cfg, day, scope, HISTORY_DAYS)
    except sa.exc.OperationalError:
        raise
    except Exception:
        log.exception("the drivers of %s failed", day.day)
        return out
    slices = as_slices(found)
    holidays = cfg.baselines.holidays
    return [with_drivers(b, replace(s, slices=slices.get(s.field, ())), day.day, holidays)
            if b.direction and s.metric == "new_payers" else b for b, s in zip(out, series, strict=True)]


def projected(s: Series, day: date, until: date, holidays: Iterable[date] = ()) -> dict[date, float] | None:
    """The model's expected value of each day D+1 ... `until` for the plan's pace
    (docs/plan.md): metrics.detector.project over this number's history up to D."""
    from metrics.detector.project import project

    after = [day + timedelta(days=i) for i in range(1, (until - day).days + 1)]
    got = project(history_of(s, day, holidays), [d.weekday() for d in after])
    return None if got is None else dict(zip(after, got, strict=True))
