"""Businesses of other shapes from one seeded dataset: its real daily numbers, thinned.

The seeded company (bench.datasets) has no weekly rhythm and one volume. A scenario keeps each
thing that happened (a payment, a session, a lead's process, a send) with a probability f(day)
<= 1 and drops the rest: binomial thinning of counts, hypergeometric thinning of a rate's
numerator with its denominator, payments kept or dropped per (user, day), so a new payer stays
a new payer and money stays sums of real payments. The noise is the data's own, only the level
moves:

    f(day) = weekday profile (Mon-Fri 1, Sat 0.7, Sun 0.55) x the scenario's level
    flat: 1; growth: 1.5 ** ((day - last) / 56) (+50% over 8 weeks, the seeded volume at the end);
    decline: 0.75 ** ((day - first) / 56); small: 5 / (the seeded payments a day);
    drift: 1, then 0.75 from its first day on (a sustained -25%).

One-day changes (`inject`) move one day's numbers of one kind by a fraction m: payments (m of
the day's payments lost, or paid twice), payers (m of the new payers lost, or as many new ones),
sessions of one channel, breaches of one pipeline (closed in time, or as many more due and
breached).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import sqlalchemy as sa

from metrics.baselines import Series
from metrics.new_payers import NUMBERS

WEEKDAY = (1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.55)


@dataclass(frozen=True)
class Payments:
    """Every payment > 0 of the dataset: local day, user, amount, and whether that day is the
    user's first paying day (a new payer)."""
    day: np.ndarray
    user: np.ndarray
    amount: np.ndarray
    new: np.ndarray


def load_payments(conn, src, tz: str) -> Payments:
    rows = conn.execute(sa.text(f"""
        with p as (select user_id, (transaction_created_at::timestamptz at time zone :tz)::date as day, amount
                   from {src.table('payments')} where amount > 0)
        select p.day, p.user_id, p.amount::float, p.day = min(p.day) over (partition by p.user_id)
        from p"""), {"tz": tz}).all()
    return Payments(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                    np.array([r[2] for r in rows]), np.array([r[3] for r in rows]))


def payer_series(p: Payments, keep: np.ndarray, first: date | None) -> list[Series]:
    """The four new-payer numbers from the kept payments (as metrics.new_payers counts them)."""
    out: dict[str, dict] = {f: {} for f in ("new_payers", "new_payer_revenue", "payments", "revenue", "new_n")}
    for d, u, a, n in zip(p.day[keep], p.user[keep], p.amount[keep], p.new[keep], strict=True):
        out["payments"][d] = out["payments"].get(d, 0.0) + 1
        out["revenue"][d] = out["revenue"].get(d, 0.0) + a
        if n:
            out["new_payers"].setdefault(d, set()).add(u)
            out["new_payer_revenue"][d] = out["new_payer_revenue"].get(d, 0.0) + a
            out["new_n"][d] = out["new_n"].get(d, 0.0) + 1
    payers = {d: float(len(u)) for d, u in out["new_payers"].items()}
    n = {x.field: x for x in NUMBERS}  # the metric's own declarations: kind and weight
    return [Series("new_payers", None, "new_payers", first, payers, number=n["new_payers"]),
            Series("new_payers", None, "new_payer_revenue", first, out["new_payer_revenue"], counts=out["new_n"],
                   number=n["new_payer_revenue"]),
            Series("new_payers", None, "payments", first, out["payments"], number=n["payments"]),
            Series("new_payers", None, "revenue", first, out["revenue"], counts=out["payments"], number=n["revenue"])]


def level(kind: str, first: date, last: date, small: float = 1.0, start: date | None = None) -> Callable[[date], float]:
    """The scenario's f(day), weekday profile included."""
    def f(d: date) -> float:
        w = WEEKDAY[d.weekday()]
        if kind == "growth":
            return w * 1.5 ** ((d - last).days / 56)
        if kind == "decline":
            return w * 0.75 ** ((d - first).days / 56)
        if kind == "small":
            return w * small
        if kind == "drift" and start is not None and d >= start:
            return w * 0.75
        return w
    return f


def kept(pay: Payments, f: Callable[[date], float], seed: int) -> np.ndarray:
    """Which payments the scenario keeps: per (user, day), so a user's payments of a day go together."""
    u = np.random.default_rng([seed, 1]).random(len(pay.user))
    key: dict = {}
    for i, (d, usr) in enumerate(zip(pay.day, pay.user, strict=True)):
        key.setdefault((d, usr), u[i])
    return np.array([key[d, usr] < f(d) for d, usr in zip(pay.day, pay.user, strict=True)], bool)


def thin(series: Sequence[Series], pay: Payments, keep: np.ndarray, f: Callable[[date], float],
         seed: int) -> list[Series]:
    """Every series with each thing kept with probability f(day); payments as `keep` says."""
    rng = np.random.default_rng(seed)
    first = next((s.first_day for s in series if s.metric == "new_payers"), None)
    out = payer_series(pay, keep, first) if any(s.metric == "new_payers" for s in series) else []
    sessions_total: dict[date, float] = {}
    sess_template = None
    for s in series:
        if s.metric == "new_payers":
            continue
        if s.metric == "attribution" and s.key is None:
            sess_template = s
            continue
        if s.denominators is None:
            vals = {d: float(rng.binomial(int(v), min(f(d), 1.0))) for d, v in s.values.items()}
            if s.metric == "attribution":
                for d, v in vals.items():
                    sessions_total[d] = sessions_total.get(d, 0.0) + v
            out.append(replace(s, values=vals))
        else:
            out.append(_thin_rate(s, f, rng))
    if sess_template is not None:
        out.append(replace(sess_template, values=sessions_total))
    return _consistent(out)


def _thin_rate(s: Series, f, rng) -> Series:
    nums = s.numerators or {d: round(v * s.denominators.get(d, 0)) for d, v in s.values.items()}
    den, num = {}, {}
    for d, n in s.denominators.items():
        n2 = int(rng.binomial(int(n), min(f(d), 1.0)))
        k = int(nums.get(d, 0))
        k2 = int(rng.hypergeometric(k, int(n) - k, n2)) if n2 > 0 and n > 0 else 0
        den[d], num[d] = float(n2), float(k2)
    return replace(s, values={d: round(num[d] / n, 4) for d, n in den.items() if n}, denominators=den,
                   numerators=num)


def _consistent(out: list[Series]) -> list[Series]:
    """A pipeline's breaches are its due minus closed; a channel's sends are its block share's
    denominator (one thinning for both)."""
    by = {(s.metric, s.key, s.field): s for s in out}
    fixed = []
    for s in out:
        if s.field == "breached_today" and ("hanging", s.key, "close_rate") in by:
            c = by["hanging", s.key, "close_rate"]
            s = replace(s, values={d: n - c.numerators.get(d, 0.0) for d, n in c.denominators.items()
                                   if n - c.numerators.get(d, 0.0)})
        if s.field == "total" and ("campaigns", s.key, "block_share") in by:
            s = replace(s, values=dict(by["campaigns", s.key, "block_share"].denominators))
        fixed.append(s)
    return fixed


KINDS = ("payments", "payers", "sessions", "breaches")
MAGNITUDES = (0.3, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Injection:
    day: date
    kind: str
    direction: str      # "low": a drop, "high": a spike
    magnitude: float
    targets: tuple[str, ...]  # the Baseline targets it is meant to move


def inject(series: list[Series], pay: Payments, keep: np.ndarray, inj: Injection, channel: str, pipeline: str,
           seed: int) -> list[Series]:
    """The scenario's series with one day changed (only the series the kind touches)."""
    rng = np.random.default_rng(seed)
    d, m, up = inj.day, inj.magnitude, inj.direction == "high"
    if inj.kind in ("payments", "payers"):
        day = _payers_day(pay, keep, inj, rng)
        return [replace(s, values={**s.values, d: day[s.field][0]},
                        counts=None if s.counts is None else {**s.counts, d: day[s.field][1]})
                if s.metric == "new_payers" else s for s in series]
    out = []
    for s in series:
        if inj.kind == "sessions" and s.metric == "attribution" and s.key in (channel, None):
            ch = next(x for x in series if x.metric == "attribution" and x.key == channel).values.get(d, 0.0)
            delta = float(rng.binomial(int(ch), m))
            v = s.values.get(d, 0.0)
            s = replace(s, values={**s.values, d: v + delta if up else v - delta})
        elif inj.kind == "breaches" and s.metric == "hanging" and s.key == pipeline:
            c = next(x for x in series if x.metric == "hanging" and x.key == pipeline and x.field == "close_rate")
            due, closed = c.denominators.get(d, 0.0), c.numerators.get(d, 0.0)
            k = round(m * (due - closed))
            due2, closed2 = (due + k, closed) if up else (due, closed + k)
            if s.field == "breached_today":
                s = replace(s, values={**s.values, d: due2 - closed2})
            else:
                s = replace(s, values={**s.values, d: round(closed2 / due2, 4) if due2 else 0.0},
                            denominators={**s.denominators, d: due2}, numerators={**s.numerators, d: closed2})
        out.append(s)
    return out


def _payers_day(pay: Payments, keep: np.ndarray, inj: Injection, rng) -> dict[str, tuple[float, float]]:
    """field -> (value, payments making it) of the injected day."""
    idx = np.flatnonzero(keep & (pay.day == inj.day))
    pool = idx[pay.new[idx]] if inj.kind == "payers" else idx
    users = np.unique(pay.user[pool])
    chosen = set(rng.choice(users, size=round(inj.magnitude * len(users)), replace=False)) if len(users) else set()
    sel = np.array([i for i in pool if pay.user[i] in chosen], int)
    rows = [(pay.user[i], pay.amount[i], bool(pay.new[i])) for i in idx]
    if inj.direction == "low":
        gone = set(sel.tolist())
        rows = [r for i, r in zip(idx, rows, strict=True) if i not in gone]
    else:  # the chosen payments again, by new users (payers) or the same users (payments)
        rows += [(pay.user[i] + 10 ** 12, pay.amount[i], True) if inj.kind == "payers"
                 else (pay.user[i], pay.amount[i], False) for i in sel]
    new = [r for r in rows if r[2]]
    return {"payments": (float(len(rows)), 0.0), "revenue": (sum(r[1] for r in rows), float(len(rows))),
            "new_payers": (float(len({r[0] for r in new})), 0.0),
            "new_payer_revenue": (sum(r[1] for r in new), float(len(new)))}
