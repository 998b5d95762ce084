"""Why: the slice that moved an unusual number most ("New payers 9, usually 14-25 · Paid Search -6").

Each slice of the number along a dimension (its channels, owners, campaigns) gets its own
expected value from the same model as the number (metrics.detector.fit, fitted before the days
in question); its contribution is value - expected over those days (D, or the days of a
sustained shift), a rate's in converted things (numerator - denominator x expected share). The
driver of a dimension is the slice with the largest contribution in the anomaly's direction, and
its share is that contribution over the dimension's total (all slices together, which is the
number's own change when the slices add up to it). Slices that moved the other way or not at
all are never named.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metrics.detector.check import History, day_predictive, model_before
from metrics.detector.numbers import MONEY, RATE


@dataclass(frozen=True)
class Part:
    dimension: str
    key: str
    history: History


@dataclass(frozen=True)
class Driver:
    """The slice of a number that moved it most (docs/normal.md): "Paid Search -6"."""
    dimension: str       # "channel", "owner", ...
    key: str
    value: float         # the slice's value (a rate's slice: its numerator)
    expected: float
    share: float         # (value - expected) / the dimension's whole (value - expected)

    @property
    def change(self) -> float:
        return self.value - self.expected

    def to_json(self) -> dict:
        return {"dimension": self.dimension, "key": self.key, "value": self.value, "expected": self.expected,
                "share": self.share}


def _expected(h: History, days: range) -> tuple[float, float] | None:
    """(value, expected) summed over `days` (positions); None when the slice has no data there."""
    m = model_before(h, days.start)
    value = expected = 0.0
    seen = False
    for i in days:
        if np.isnan(h.values[i]) or h.holiday[i]:
            continue
        seen = True
        value += float(h.values[i])
        if m is None:
            expected += _plain_mean(h, days.start)
        elif h.kind == RATE:
            n = float(h.totals[i])
            expected += n * day_predictive(h, m, i, with_fit_var=False).mean if n else 0.0
        else:
            pred = day_predictive(h, m, i, with_fit_var=False)
            # money's expected sum is the mean of its log-normal, not the median
            expected += pred.mean * (math.exp(pred.spread ** 2 / 2) if h.kind == MONEY else 1.0)
    return (value, expected) if seen else None


def _plain_mean(h: History, end: int) -> float:
    """A slice too young for a model: its plain mean so far (0 when it is new today)."""
    past = h.values[max(0, end - 28):end]
    past = past[~np.isnan(past)]
    return float(past.mean()) if len(past) else 0.0


def contributions(parts: list[Part], span: int, direction: str) -> list[Driver]:
    """The driver of each dimension, the biggest change first; `span`: the last days looked at."""
    by_dim: dict[str, list[tuple[str, float, float]]] = {}
    for p in parts:
        n = len(p.history)
        got = _expected(p.history, range(n - span, n))
        if got is not None:
            by_dim.setdefault(p.dimension, []).append((p.key, *got))
    out = []
    sign = -1.0 if direction == "low" else 1.0
    for dim, rows in by_dim.items():
        total = sum(v - e for _, v, e in rows)
        key, value, expected = max(rows, key=lambda r: sign * (r[1] - r[2]))
        change = value - expected
        if sign * change <= 0:
            continue
        share = change / total if sign * total > 0 else 1.0
        out.append(Driver(dim, key, round(value, 2), round(expected, 2), round(min(share, 9.99), 4)))
    return sorted(out, key=lambda c: -abs(c.change))
