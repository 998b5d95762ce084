"""A checked number: a daily number of a metric that the detector judges every day
(docs/normal.md), that the "needs attention" block may name, that an alert rule may watch and a
plan may target. Each metric declares its own in its module (`NUMBERS`), and its `series` gives
their daily values; reports.registry collects them from the metric specs. Nothing else lists them.
"""
from __future__ import annotations

from dataclasses import dataclass

from metrics.detector.numbers import COUNT, MONEY, RATE, TAILS

__all__ = ["COUNT", "MONEY", "RATE", "Number"]

# The dimensions a number's keyed values may go by; an alert target names a key of one of them.
PIPELINE, CHANNEL, STEP, SEND_CHANNEL = "pipeline", "channel", "step", "send channel"


@dataclass(frozen=True)
class Number:
    metric: str               # the metric's JSON block
    field: str                # the number's key in that block
    kind: str                 # COUNT, RATE or MONEY: how its noise behaves (metrics.detector)
    weight: int               # how much a head of sales cares: money and payers 4, conversions 3,
                              # volumes 2, per-channel volumes 1 (the block ranks by it)
    key: str | None = None    # the dimension its keyed values go by (PIPELINE, ...); None: none
    total: bool = True        # it has a company-wide value (False: only per key)
    keyed_weight: int | None = None  # a keyed value's weight, when it differs from `weight`
    target: str | None = None  # its alert target's name, when it differs from `field`
    aliases: tuple[str, ...] = ()  # other words an alert rule may use for it
    # Its keyed values are parts of a whole (a channel's sessions of all sessions), so one under
    # 5% of the whole never opens the digest; False: each is a number of its own (a pipeline's
    # close rate). `share_of`: the field whose keyed values make that whole (None: its own).
    parts: bool = True
    share_of: str | None = None

    @property
    def name(self) -> str:
        """`/alert NAME …`, `NAME.<key>` for a keyed value."""
        return self.target or self.field

    def weight_of(self, keyed: bool) -> int:
        return self.keyed_weight or self.weight if keyed else self.weight

    def tail(self, keyed: bool) -> float:
        return TAILS[self.weight_of(keyed)]

    @property
    def sums(self) -> bool:
        """A count or money sums over days (a week's, a month's); a rate does not."""
        return self.kind != RATE


# A number nobody declared (a hand-built test value): an ordinary count of weight 2.
UNDECLARED = Number("", "", COUNT, 2)
