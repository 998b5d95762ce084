"""What each checked number is: its kind (how its noise behaves) and its business weight.

The ONE table of them (a per-metric spec will take it over later). Keyed by (metric, field,
keyed): `keyed` tells a number split by a key (a channel's sessions) from its total (all sessions).

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

from dataclasses import dataclass

COUNT, RATE, MONEY = "count", "rate", "money"

# tails per weight (per side)
TAILS = {4: 3e-3, 3: 5e-4, 2: 2.5e-4, 1: 1e-4}


@dataclass(frozen=True)
class NumberSpec:
    kind: str
    weight: int

    @property
    def tail(self) -> float:
        return TAILS[self.weight]


NUMBERS: dict[tuple[str, str, bool], NumberSpec] = {
    ("new_payers", "new_payers", False): NumberSpec(COUNT, 4),
    ("new_payers", "payments", False): NumberSpec(COUNT, 4),
    ("new_payers", "revenue", False): NumberSpec(MONEY, 4),
    ("new_payers", "new_payer_revenue", False): NumberSpec(MONEY, 4),
    ("funnel", "step_conversion", True): NumberSpec(RATE, 3),
    ("hanging", "close_rate", True): NumberSpec(RATE, 3),
    ("campaigns", "conversion_rate", True): NumberSpec(RATE, 2),
    ("campaigns", "block_share", True): NumberSpec(RATE, 2),
    ("hanging", "breached_today", True): NumberSpec(COUNT, 2),
    ("attribution", "sessions", False): NumberSpec(COUNT, 2),
    ("attribution", "sessions", True): NumberSpec(COUNT, 1),
    ("campaigns", "total", True): NumberSpec(COUNT, 1),
}


def spec_of(metric: str, field: str, keyed: bool) -> NumberSpec:
    """A number not in the table is an ordinary volume (weight 2 count)."""
    return NUMBERS.get((metric, field, keyed), NumberSpec(COUNT, 2))
