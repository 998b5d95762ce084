"""How a checked number's noise behaves (its kind) and how much of the false-alarm budget its
business weight buys (its tail). Which numbers there are, and each one's kind and weight, is each
metric's own declaration (metrics.checked.Number, in the metric's module).

- kind: `count` (whole things: payers, sessions; Poisson or negative binomial noise), `rate` (a
  share of a denominator known each day; binomial or beta-binomial), `money` (a sum of payments;
  log-normal around its expected value).
- weight: how much a head of sales cares, for ranking the block (significance x weight): money
  and payers 4, conversions 3, volumes 2, per-channel volumes 1.
- tail: the per-side probability below which a day is flagged. Chosen so the whole block of ~45
  numbers stays empty on >= 28 ordinary days of 30 (bench/baselines.py): the numbers a head of
  sales cares most about get the most of that false-alarm budget.
"""
from __future__ import annotations

COUNT, RATE, MONEY = "count", "rate", "money"

# tails per weight (per side)
TAILS = {4: 3e-3, 3: 5e-4, 2: 2.5e-4, 1: 1e-4}
