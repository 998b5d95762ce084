"""The expected values of the days after D, for the plan's pace (docs/plan.md): "Revenue 4.1M
of 7.5M at day 16 of 30 -> on pace for 104%" adds the month's remaining days as the model
expects them, weekday by weekday, not as a straight line.

The same model as the verdicts (metrics.detector.fit), fitted on the history up to and
including D: level and growth from the recent weeks, the weekday profile from all twelve. What
is projected is the mean of each day (a sum of days adds means): a count's mu, money's log-normal
mean (its median times exp(sigma^2 / 2)), a rate's share.
"""
from __future__ import annotations

import math

import numpy as np

from metrics.detector.check import History, model_before
from metrics.detector.numbers import COUNT, MONEY, RATE


def project(h: History, weekdays_after: list[int]) -> list[float] | None:
    """The expected value of each day after D (D = the last day of `h`), given their weekdays in
    order (D+1, D+2, ...); None without enough history for a model. Holidays in `h` are left out
    of the fit; a projected day's own holiday is the caller's to know (it is projected as its
    weekday)."""
    m = model_before(h, len(h))
    if m is None:
        return None
    t = np.arange(1, len(weekdays_after) + 1, dtype=float)
    link, _ = m.link(t, np.asarray(weekdays_after))
    if h.kind == COUNT:
        return [float(math.exp(x)) for x in link]
    if h.kind == RATE:
        return [float(1 / (1 + math.exp(-x))) for x in link]
    if h.kind == MONEY:
        return [float(math.exp(x + m.dispersion ** 2 / 2)) for x in link]
    raise ValueError(f"unknown kind {h.kind!r}")
