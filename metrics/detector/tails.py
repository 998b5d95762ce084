"""What a day's number may be: its predictive distribution, tail probabilities and band.

- count: negative binomial with mean mu and over-dispersion alpha (variance mu + alpha mu^2;
  Poisson when alpha is 0). The fit's own uncertainty (the variance of log mu) adds to alpha: a
  log-normal level mixed into the count. Mu is never taken below COUNT_FLOOR, so a number that is
  usually 0 is not flagged for 1, 2, 3 or 4.
- rate: beta-binomial on the day's own denominator n with mean p and intra-day correlation rho
  (binomial when rho is 0); the fit's uncertainty of logit p adds p (1 - p) var to rho.
- money: log-normal, the log's standard deviation the residuals' plus the fit's.

Tail probabilities are P(Y <= y) and P(Y >= y) (both include y: a count of exactly the usual
low edge is not unusual). The band is the values that are not flagged at the tail asked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from metrics.detector.numbers import COUNT, MONEY, RATE

COUNT_FLOOR = 0.5   # expected counts below this read as 0.5 (a number that is usually 0)
ZERO_ALWAYS = 5.0   # a count of 0 where at least this many are expected is always flagged
MIN_ALPHA = 1e-9


@dataclass(frozen=True)
class Predictive:
    kind: str
    mean: float            # count: mu; rate: p; money: the median (exp of the log's mean)
    spread: float          # count: alpha; rate: rho; money: sigma of log
    n: float | None = None  # rate: the denominator the numerator is out of
    spread_low: float | None = None  # money: sigma of log below the median (None: `spread`)

    @property
    def _low(self) -> float:
        return self.spread if self.spread_low is None else self.spread_low

    @property
    def expected(self) -> float:
        """The usual value: mu, the share p, or money's median."""
        return self.mean

    def below(self, y: float) -> float:
        """P(Y <= y); for a rate `y` is the numerator."""
        if self.kind == MONEY:
            return 0.0 if y <= 0 else float(special.ndtr((math.log(y) - math.log(self.mean)) / self._low))
        if y < 0:
            return 0.0
        cdf = self._table[0]
        k = math.floor(y)
        return 1.0 if k >= len(cdf) else float(cdf[k])

    def above(self, y: float) -> float:
        """P(Y >= y)."""
        if self.kind == MONEY:
            return 1.0 if y <= 0 else float(special.ndtr(-(math.log(y) - math.log(self.mean)) / self.spread))
        if y <= 0:
            return 1.0
        sf = self._table[1]
        k = math.ceil(y)
        return 0.0 if k >= len(sf) else float(sf[k])

    def band(self, tail: float) -> tuple[float, float]:
        """(low, high): the values a day may take without being flagged; a rate's as shares."""
        if self.kind == MONEY:
            z = -special.ndtri(tail)
            return self.mean * math.exp(-z * self._low), self.mean * math.exp(z * self.spread)
        cdf, sf = self._table
        low = float(np.searchsorted(cdf, tail))          # the first k with P(Y <= k) >= tail
        high = float(max(np.flatnonzero(sf >= tail)[-1], 0)) if sf[0] >= tail else 0.0  # the last k with P(Y >= k) >= tail
        if self.kind == COUNT and self.mean >= ZERO_ALWAYS:
            low = max(low, 1.0)
        if self.kind == RATE:
            return low / self.n, high / self.n
        return low, high

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        """(P(Y <= k), P(Y >= k)) for k = 0 .. far into the upper tail (a rate's: up to n)."""
        logp = self._log_pmf()
        pmf = np.exp(logp - logp.max())
        pmf /= pmf.sum()
        return np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]

    def _log_pmf(self) -> np.ndarray:
        if self.kind == RATE:
            n, p = round(self.n or 0), min(max(self.mean, 1e-9), 1 - 1e-9)
            k = np.arange(n + 1, dtype=float)
            if self.spread < MIN_ALPHA:
                return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1) \
                    + k * math.log(p) + (n - k) * math.log1p(-p)
            c = 1 / self.spread - 1
            a, b = p * c, (1 - p) * c
            return (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                    + special.betaln(k + a, n - k + b) - special.betaln(a, b))
        mu = max(self.mean, COUNT_FLOOR)
        sd = math.sqrt(mu + self.spread * mu * mu)
        k = np.arange(int(mu + 40 * sd + 20), dtype=float)
        if self.spread < MIN_ALPHA:
            return k * math.log(mu) - mu - special.gammaln(k + 1)
        r = 1 / self.spread
        return (special.gammaln(k + r) - special.gammaln(r) - special.gammaln(k + 1)
                + r * math.log(r / (r + mu)) + k * math.log(mu / (r + mu)))


def flagged(pred: Predictive, y: float, tail: float) -> tuple[str | None, float]:
    """("low" | "high" | None, the smaller tail probability). `y` a rate's numerator."""
    lo, hi = pred.below(y), pred.above(y)
    if pred.kind == COUNT and y == 0 and pred.mean >= ZERO_ALWAYS:
        return "low", min(lo, tail)  # docs/normal.md: a zero where 5 are expected, always
    if lo < tail and lo <= hi:
        return "low", lo
    if hi < tail:
        return "high", hi
    return None, min(lo, hi)


def predictive(kind: str, link: float, link_var: float, dispersion: float, n: float | None = None,
               lower: float | None = None) -> Predictive:
    """The day's distribution from the model's linear predictor and its variance."""
    if kind == COUNT:
        return Predictive(COUNT, math.exp(min(link, 30.0)), dispersion + link_var)
    if kind == RATE:
        p = 1 / (1 + math.exp(-link))
        return Predictive(RATE, p, min(dispersion + p * (1 - p) * link_var, 0.9), n)
    low = dispersion if lower is None else lower
    return Predictive(MONEY, math.exp(link), math.sqrt(dispersion ** 2 + link_var), None,
                      math.sqrt(low ** 2 + link_var))


def summed(parts: list[Predictive], common_var: float) -> Predictive:
    """The distribution of a sum of days (a rate: of their numerators over their denominators),
    moment-matched to the same family; `common_var`: the variance of the link shared by the days
    (the level's own uncertainty moves them together)."""
    kind = parts[0].kind
    if kind == COUNT:
        mus = [max(p.mean, COUNT_FLOOR) for p in parts]
        m = sum(mus)
        var = sum(mu + p.spread * mu * mu for mu, p in zip(mus, parts, strict=True)) + m * m * common_var
        # the per-day fit variance is inside each p.spread; the shared part is added once more
        return Predictive(COUNT, m, max((var - m) / (m * m), 0.0))
    if kind == RATE:
        big_n = sum(p.n or 0 for p in parts)
        pbar = sum((p.n or 0) * p.mean for p in parts) / big_n
        var = sum((p.n or 0) * p.mean * (1 - p.mean) * (1 + ((p.n or 0) - 1) * p.spread) for p in parts)
        var += (big_n * pbar * (1 - pbar)) ** 2 * common_var
        base = big_n * pbar * (1 - pbar)
        rho = (var / base - 1) / (big_n - 1) if big_n > 1 and base > 0 else 0.0
        return Predictive(RATE, pbar, min(max(rho, 0.0), 0.9), big_n)
    def sigma(spreads: list[float]) -> tuple[float, float]:
        means = [p.mean * math.exp(s ** 2 / 2) for p, s in zip(parts, spreads, strict=True)]
        e = sum(means)
        var = sum(m * m * (math.exp(s ** 2) - 1) for m, s in zip(means, spreads, strict=True)) + e * e * common_var
        s2 = math.log(1 + var / (e * e))
        return e * math.exp(-s2 / 2), math.sqrt(s2)

    median, high = sigma([p.spread for p in parts])
    _, low = sigma([p._low for p in parts])
    return Predictive(MONEY, median, high, None, low)
