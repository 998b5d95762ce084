"""Is D unusual? One checked number's verdict: the day against its band, and the last 3 and 7
days against theirs (a sustained shift), with the day the shift began.

Input is one number's daily history as arrays over the days D-84 ... D (metrics.detector.History);
nothing here knows SQL or dates beyond weekdays and positions.

- The day: the model (metrics.detector.fit) on the history before D, without holidays and days
  without data, gives D's predictive distribution (metrics.detector.tails); D is flagged when its
  value lies in a tail smaller than the number's tail probability (metrics.detector.numbers).
- A sustained shift: the last 3 and the last 7 days, each day's value first clipped to its own
  band (so one broken day, already flagged on its own day, cannot make a shift of the days after
  it), summed and compared with the band of the sum, the model fitted on the history before the
  7 days. Flagged only when D itself is on the same side of its expected value (a shift that
  ended yesterday is over). `since`: the first day of the run of days on that side ending at D.
- No verdict: D a holiday, fewer than MIN_HISTORY usable days (and fewer than MIN_SAME_WEEKDAY of
  D's weekday), a rate whose denominator on D is
  below MIN_DENOMINATOR, money whose usual number of payments is below MONEY_MIN_PARTS (a
  handful of payments make money too lumpy for a band: the count carries the verdict).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metrics.detector.fit import Model, design, fit
from metrics.detector.numbers import COUNT, MONEY, RATE
from metrics.detector.tails import Predictive, flagged, predictive, summed

HISTORY_DAYS = 84      # up to 12 weeks before D
MIN_HISTORY = 21       # usable days the model needs (3 weeks: 3 of each weekday) ...
MIN_SAME_WEEKDAY = 4   # ... or this many of D's own weekday (a session store that has built only
                       # D's weekdays: the other weekdays' profile then comes from the prior)
MIN_DENOMINATOR = 20   # rates: no verdict below this many on D (or in a window)
MONEY_MIN_PARTS = 10   # money: no verdict when fewer payments than this make a usual day
WINDOWS = (3, 7)
RUN_TAIL = 0.25        # a day belongs to a shift's run when it lies in its outer quarter
WINDOW_TAIL_SHARE = 0.25  # each window test gets a quarter of the number's tail: two more tests a day


@dataclass(frozen=True)
class History:
    """One number over the days D - len + 1 ... D (the last position is D).

    values: the day's number (rates: the numerator; NaN: no data that day); totals: rates'
    denominators, money's count of payments (None for counts); holiday: days without a verdict,
    left out of every fit; weekday: 0 = Monday."""
    kind: str
    values: np.ndarray
    weekday: np.ndarray
    holiday: np.ndarray
    totals: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Window:
    days: int
    value: float      # the clipped sum (a rate: numerators over denominators)
    expected: float
    low: float
    high: float
    direction: str
    p: float


@dataclass(frozen=True)
class Verdict:
    value: float | None           # D's number (a rate: the share)
    expected: float | None
    low: float | None
    high: float | None
    direction: str | None
    p: float | None = None        # the tail probability of the verdict (the day's or the window's)
    since: int | None = None      # position of the first day of a sustained shift
    window: Window | None = None  # the window sum that flagged, when one did

    @property
    def has_verdict(self) -> bool:
        return self.expected is not None


def _value(h: History, i: int) -> float | None:
    v = h.values[i]
    if np.isnan(v):
        return None
    if h.kind == RATE:
        n = h.totals[i]
        return None if not n else float(v / n)
    return float(v)


def _usable(h: History, end: int) -> np.ndarray:
    """Positions before `end` the model may learn from."""
    lo = max(0, end - HISTORY_DAYS)
    idx = np.arange(lo, end)
    ok = ~np.isnan(h.values[lo:end]) & ~h.holiday[lo:end]
    if h.kind == RATE:
        ok &= h.totals[lo:end] > 0
    if h.kind == MONEY:
        ok &= h.values[lo:end] > 0
    return idx[ok]


def model_before(h: History, end: int, profile: Model | None = None) -> Model | None:
    """The model fitted on up to HISTORY_DAYS usable days before position `end` (the weekday
    profile of `profile` when given)."""
    idx = _usable(h, end)
    same = int(np.sum(h.weekday[idx] == h.weekday[min(end, len(h) - 1)]))
    if len(idx) < MIN_HISTORY and same < MIN_SAME_WEEKDAY:
        return None
    t = idx - (len(h) - 1)
    return fit(h.kind, t, h.weekday[idx], h.values[idx], h.totals[idx] if h.kind == RATE else None, profile)


def day_predictive(h: History, m: Model, i: int, with_fit_var: bool = True) -> Predictive:
    t = np.array([i - (len(h) - 1)])
    link, var = m.link(t, h.weekday[i:i + 1])
    n = float(h.totals[i]) if h.kind == RATE else None
    return predictive(h.kind, float(link[0]), float(var[0]) if with_fit_var else 0.0, m.dispersion, n, m.lower)


def _money_has_verdict(h: History, end: int) -> bool:
    parts = h.totals[max(0, end - 28):end] if h.totals is not None else np.array([])
    parts = parts[~np.isnan(parts)]
    return len(parts) > 0 and float(np.median(parts)) >= MONEY_MIN_PARTS


def _band_of(pred: Predictive, h: History, i: int, tail: float) -> tuple[float, float]:
    if h.kind == RATE and not h.totals[i]:
        return float("nan"), float("nan")
    return pred.band(tail)


def check(h: History, tail: float) -> Verdict:
    """The verdict on the last day of `h` (D)."""
    d = len(h) - 1
    value = _value(h, d)
    none = Verdict(value, None, None, None, None)
    if h.holiday[d]:
        return none
    m = model_before(h, d)
    if m is None:
        return none
    if h.kind == RATE:
        n = h.totals[d] if not np.isnan(h.totals[d]) else 0.0
        pred = day_predictive(h, m, d) if n > 0 else None
        expected = float(1 / (1 + np.exp(-m.link(np.array([0]), h.weekday[d:d + 1])[0][0])))
        if pred is None:
            return Verdict(value, round(expected, 4), None, None, None)
        low, high = pred.band(tail)
        if n < MIN_DENOMINATOR:
            return Verdict(value, round(expected, 4), round(low, 4), round(high, 4), None)
    else:
        pred = day_predictive(h, m, d)
        expected = pred.expected
        if h.kind == MONEY and not _money_has_verdict(h, d):
            return Verdict(value, round(expected, 2), None, None, None)
        low, high = pred.band(tail)
    if value is None:
        return Verdict(None, _round(h, expected), _round(h, low), _round(h, high), None)
    raw = float(h.values[d])
    if h.kind == MONEY and raw <= 0:
        direction, p = "low", 0.0  # no money at all on a day that usually has 10+ payments
    else:
        direction, p = flagged(pred, raw, tail)
    wm = model_before(h, d - max(WINDOWS) + 1, profile=m)
    window = _shift(h, wm, tail * WINDOW_TAIL_SHARE) if wm is not None else None
    since = None
    if window is not None:
        since = _run_start(h, wm, window.direction)
        if direction is None or window.p < p:
            direction, p = window.direction, window.p
    return Verdict(value, _round(h, expected), _round(h, low), _round(h, high), direction,
                   p if direction else None, since if window else None, window)


def _round(h: History, x: float) -> float:
    return round(x, 4) if h.kind == RATE else round(x, 2)


# -- sustained shifts ---------------------------------------------------------------------------

def _shift(h: History, m: Model, tail: float) -> Window | None:
    """The window (3 or 7 days ending D) with the smallest tail probability, when flagged; `m`
    the model fitted before the 7 days."""
    d = len(h) - 1
    start = d - max(WINDOWS) + 1
    preds = {}
    for i in range(start, d + 1):
        if _value(h, i) is None or h.holiday[i] or (h.kind == MONEY and h.values[i] <= 0):
            continue
        preds[i] = (day_predictive(h, m, i, with_fit_var=False), day_predictive(h, m, i))
    if d not in preds:
        return None
    best = None
    for k in WINDOWS:
        days = [i for i in range(d - k + 1, d + 1) if i in preds]
        if len(days) < (k + 1) // 2 + 1:
            continue
        w = _window(h, days, preds, _sum_var(h, m, days, preds), tail, k)
        if w is not None and (best is None or w.p < best.p):
            best = w
    return best


def _sum_var(h: History, m: Model, days: list[int], preds: dict) -> float:
    """The variance the model's own uncertainty gives the sum of `days`, on the scale `summed`
    takes it (relative for counts and money, logit for rates): the delta method over the days
    together, so the weekday effects' errors partly cancel (over 7 days, entirely)."""
    x = m.effective(design(np.array(days, float) - (len(h) - 1), h.weekday[days]))
    p = [preds[i][0] for i in days]
    if h.kind == RATE:
        n = np.array([float(h.totals[i]) for i in days])
        w = n * np.array([q.mean * (1 - q.mean) for q in p])
    elif h.kind == MONEY:
        w = np.array([q.mean * math.exp(q.spread ** 2 / 2) for q in p])
    else:
        w = np.array([max(q.mean, 0.0) for q in p])
    v = w @ x
    scale = float(w.sum())
    return float(v @ m.cov @ v) / (scale * scale) if scale > 0 else 0.0


def _clip(h: History, i: int, pred: Predictive, tail: float) -> float:
    low, high = pred.band(tail)
    y = float(h.values[i])
    if h.kind == RATE:
        n = float(h.totals[i])
        return min(max(y, low * n), high * n)
    return min(max(y, low), high)


def _window(h: History, days: list[int], preds: dict, common: float, tail: float, k: int) -> Window | None:
    total = summed([preds[i][0] for i in days], common)
    if h.kind == RATE and (total.n or 0) < MIN_DENOMINATOR:
        return None
    y = sum(_clip(h, i, preds[i][1], tail) for i in days)
    if h.kind == COUNT:
        y = round(y)
    direction, p = flagged(total, y, tail)
    if direction is None:
        return None
    d = days[-1]
    centre = preds[d][0].expected * (h.totals[d] if h.kind == RATE else 1)
    if (direction == "low") != (float(h.values[d]) < centre):
        return None
    low, high = total.band(tail)
    if h.kind == RATE:
        return Window(k, round(y / total.n, 4), round(total.mean, 4), round(low, 4), round(high, 4), direction, p)
    return Window(k, round(y, 2), round(total.expected, 2), round(low, 2), round(high, 2), direction, p)


def _run_start(h: History, m: Model, direction: str) -> int:
    """The first position of the run of days ending at D that lie clearly on `direction`'s side
    (in the outer RUN_TAIL of their own distribution; within the 7 days)."""
    d = len(h) - 1
    start = d - max(WINDOWS) + 1
    i = d
    while i > start:
        j = i - 1
        if _value(h, j) is None or h.holiday[j] or (h.kind == MONEY and h.values[j] <= 0):
            break
        pred = day_predictive(h, m, j)
        y = float(h.values[j])
        if (pred.below(y) if direction == "low" else pred.above(y)) >= RUN_TAIL:
            break
        i = j
    return i
