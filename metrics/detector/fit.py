"""The expected value of a daily number: a level that may move times a weekday profile.

One robust generalized linear model per number, fitted on up to 12 weeks of history:

    link(expected on day t) = a + b * t / 7 + w[weekday of t]

with the link of the number's nature (metrics.detector.numbers): log for counts (Poisson), logit
for rates (binomial, each day weighted by its denominator), identity on log(value) for money.
`b` is the growth per week (a steady growth or decline is normal, so it is part of the expected
value), `w` the weekday profile (summing to zero). Why not STL: a log link takes zeros and counts
of 2 a day without a log(0), the fit gives the uncertainty of its own forecast (added to the
band), and it costs ~1 ms on 84 days; the benchmark (bench/baselines.py) measures it.

Robust and local, as the design asks:
- Tukey's biweight on the Pearson residuals (scaled by their MAD, never below the binomial or
  Poisson noise itself), iterated: one broken day, or a few, does not move the level;
- recent days weigh more for the level and growth (half-life HALF_LIFE_DAYS), so a level that
  turned is followed within weeks, while the weekday profile comes from all 12 weeks alike;
- weak priors (ridge) on the slope and the weekday profile, so 3 weeks of data or a weekday that
  is always 0 give a finite, moderate answer instead of minus infinity.

Pure numpy; no SQL, no dates (days are integers relative to D, negative before it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.detector.numbers import COUNT, MONEY, RATE

HALF_LIFE_DAYS = 28.0
SLOPE_PRIOR_SD = 0.25     # growth per week on the link scale (log: +28%/week is 1 sd)
WEEKDAY_PRIOR_SD = 1.0    # a weekday's effect on the link scale
TUKEY_C = 4.685           # 95% efficiency under normal noise
ITERATIONS = 8
TOLERANCE = 1e-4         # on the link scale: a hundredth of a percent
MAD_SCALE = 1.4826
MONEY_MIN_SIGMA = 0.02  # log scale


@dataclass(frozen=True)
class Model:
    kind: str
    beta: np.ndarray        # a, b, w0 .. w5 (w6 = -(w0 + ... + w5))
    cov: np.ndarray         # covariance of (a, b) and of the weekday effects (two blocks: two fits)
    dispersion: float       # counts: negative binomial alpha; rates: beta-binomial rho; money: sigma of log
    days: int               # history days the fit used
    lower: float | None = None  # money: sigma of the log below the expected value (a sum of payments is skewed)
    centre: np.ndarray | None = None  # the recent days' mean weekday columns (the level absorbed them)

    def link(self, t: np.ndarray, weekday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The linear predictor at days `t` and its variance (the fit's own uncertainty)."""
        x = design(np.asarray(t, float), np.asarray(weekday))
        e = self.effective(x)
        return x @ self.beta, np.einsum("ij,jk,ik->i", e, self.cov, e)

    def effective(self, x: np.ndarray) -> np.ndarray:
        """Design rows as the variance sees them: the level was fitted with the profile as an
        offset, so an error in the profile moves the level the other way by its recent mean, and
        only a weekday's difference from that mean is uncertain (with only Saturdays in the
        history, a Saturday is as certain as the level)."""
        if self.centre is None:
            return x
        e = x.copy()
        e[:, 2:] -= self.centre
        return e


def design(t: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Columns: 1, weeks, then weekday effects coded to sum to zero (Sunday = minus the rest)."""
    x = np.zeros((len(t), 8))
    x[:, 0] = 1.0
    x[:, 1] = t / 7.0
    for k in range(6):
        x[:, 2 + k] = (weekday == k).astype(float) - (weekday == 6)
    return x


def _prior(columns: int, scale: float = 1.0) -> np.ndarray:
    return np.diag(([0.0, 1 / SLOPE_PRIOR_SD ** 2] + [1 / WEEKDAY_PRIOR_SD ** 2] * 6)[:columns]) * scale


def _median(a: np.ndarray) -> float:
    """np.median without its overhead (it dominated the fit's time on 84 values)."""
    b = np.sort(a)
    n = len(b)
    return float(b[(n - 1) // 2] + b[n // 2]) / 2


def _mad(r: np.ndarray) -> float:
    return MAD_SCALE * _median(np.abs(r - _median(r)))


def _biweight(r: np.ndarray, floor: float) -> np.ndarray:
    """Tukey's weights of residuals `r`, scaled by their MAD but never below `floor` (the
    noise a count or a rate has anyway: a calm history must not make ordinary noise an outlier)."""
    s = max(_mad(r), floor)
    u = r / (TUKEY_C * s)
    return np.where(np.abs(u) < 1, (1 - u ** 2) ** 2, 0.0)


def fit(kind: str, t: np.ndarray, weekday: np.ndarray, y: np.ndarray, n: np.ndarray | None = None,
        profile: Model | None = None) -> Model:
    """Fit on the history days given (no holidays, no missing days). `y`: the values (rates: the
    numerators, not the shares); `n`: rates' denominators.

    Two fits: the weekday profile from every week alike (a profile changes slowly, and a weekday
    seen 12 times is known better than one seen 4 times: measured, this halves the forecast's
    own variance), then the level and growth from the recent weeks (recency weights) with that
    profile as an offset. `profile`: a model whose weekday profile to take instead of fitting
    one (the same number's, fitted a few days later: the profile barely moves)."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    x = design(t, np.asarray(weekday))
    recency = 0.5 ** (-t / HALF_LIFE_DAYS)
    every = profile or _fit_kind(kind, x, np.ones(len(y)), y, n, np.zeros(len(y)))
    offset = x[:, 2:] @ every.beta[2:]
    recent = _fit_kind(kind, x[:, :2], recency, y, n, offset)
    beta = np.concatenate([recent.beta, every.beta[2:]])
    cov = np.zeros((8, 8))
    cov[:2, :2] = recent.cov
    cov[2:, 2:] = every.cov[2:, 2:]
    centre = np.average(x[:, 2:], axis=0, weights=recency)
    return Model(kind, beta, cov, recent.dispersion, recent.days, recent.lower, centre)


def _fit_kind(kind, x, recency, y, n, offset) -> Model:
    if kind == COUNT:
        return _fit_count(x, recency, y, offset)
    if kind == RATE:
        return _fit_rate(x, recency, y, np.asarray(n, float), offset)
    if kind == MONEY:
        return _fit_money(x, recency, y, offset)
    raise ValueError(f"unknown kind {kind!r}")


def _solve(x, w, z, prior):
    info = x.T @ (w[:, None] * x) + prior
    return np.linalg.solve(info, x.T @ (w * z)), info


def _dof(n: int) -> float:
    """Residuals of a fit of 8 parameters (the profile's 6 count, fitted beside or before)."""
    return n / max(n - 8, 1)


def _fit_count(x, recency, y, offset) -> Model:
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(max(float(np.mean(y)), 0.5))
    robust = np.ones(len(y))
    prior = _prior(x.shape[1])
    for _ in range(ITERATIONS):
        eta = offset + x @ beta
        mu = np.exp(np.clip(eta, -20, 20))
        w = recency * robust * mu
        z = eta - offset + (y - mu) / mu
        new, info = _solve(x, w, z, prior)
        mu = np.exp(np.clip(offset + x @ new, -20, 20))
        # a variance floor of 1: a single event where 0.1 are expected is never an outlier
        robust = _biweight((y - mu) / np.sqrt(np.maximum(mu, 1.0)), 1.0)
        done = np.max(np.abs(new - beta)) < TOLERANCE
        beta = new
        if done:
            break
    keep = robust > 0
    num = float(np.sum((recency * ((y - mu) ** 2 * _dof(len(y)) - mu))[keep]))
    den = float(np.sum((recency * mu ** 2)[keep]))
    alpha = max(num / den, 0.0) if den > 0 else 0.0
    # the estimate's uncertainty grows with the over-dispersion the data show
    phi = 1.0 + alpha * float(np.average(mu, weights=recency))
    return Model(COUNT, beta, np.linalg.inv(info) * phi, alpha, len(y))


def _fit_rate(x, recency, k, n, offset) -> Model:
    p0 = (k.sum() + 0.5) / (n.sum() + 1.0)
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(p0 / (1 - p0))
    robust = np.ones(len(k))
    prior = _prior(x.shape[1])
    share = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
    for _ in range(ITERATIONS):
        eta = offset + x @ beta
        p = np.clip(1 / (1 + np.exp(-eta)), 1e-6, 1 - 1e-6)
        v = p * (1 - p)
        w = recency * robust * n * v
        z = eta - offset + (share - p) / v
        new, info = _solve(x, w, z, prior)
        p = np.clip(1 / (1 + np.exp(-(offset + x @ new))), 1e-6, 1 - 1e-6)
        r = (k - n * p) / np.sqrt(np.maximum(n * p * (1 - p), 1.0))
        robust = _biweight(r, 1.0)
        done = np.max(np.abs(new - beta)) < TOLERANCE
        beta = new
        if done:
            break
    keep = (robust > 0) & (n > 1)
    v = n * p * (1 - p)
    num = float(np.sum((recency * ((k - n * p) ** 2 * _dof(len(k)) - v))[keep]))
    den = float(np.sum((recency * v * (n - 1))[keep]))
    rho = min(max(num / den, 0.0), 0.5) if den > 0 else 0.0
    phi = 1.0 + rho * (float(np.average(n, weights=recency)) - 1)
    return Model(RATE, beta, np.linalg.inv(info) * phi, rho, len(k))


def _fit_money(x, recency, y, offset) -> Model:
    """Money on a log scale: days without money (nothing sold) are left to the count."""
    logy = np.log(y) - offset
    robust = np.ones(len(y))
    sigma = 0.3
    for _ in range(ITERATIONS):
        beta, info = _solve(x, recency * robust, logy, _prior(x.shape[1], sigma ** 2))
        r = logy - x @ beta
        sigma = max(_mad(r), MONEY_MIN_SIGMA)
        robust = _biweight(r, sigma)
    keep = robust > 0
    dof = _dof(len(y))
    sigma = float(np.sqrt(np.average(r[keep] ** 2, weights=recency[keep]) * dof)) if keep.sum() > 8 else sigma
    # each side its own spread: a day of few big payments and a day of many small ones differ
    below, above = keep & (r < 0), keep & (r >= 0)
    lower = float(np.sqrt(np.average(r[below] ** 2, weights=recency[below]) * dof)) if below.sum() > 8 else sigma
    upper = float(np.sqrt(np.average(r[above] ** 2, weights=recency[above]) * dof)) if above.sum() > 8 else sigma
    # a history of identical amounts has no spread of its own: 2% keeps the band a band
    sigma, lower, upper = (max(v, MONEY_MIN_SIGMA) for v in (sigma, lower, upper))
    return Model(MONEY, beta, np.linalg.inv(info) * sigma ** 2, upper, len(y), lower)
