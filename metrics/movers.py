"""The biggest movers of a period against the one before it (docs/plan.md).

For each dimension (channel, owner, campaign: revenue; pipeline: processes past SLA) every slice
present in either period is compared (absent in one: 0 there); the dimension's mover is the slice
with the largest absolute change, ties to the name first in sort order. Catch-all slices ("no
owner", payments without a session) are never named: they say what is unknown, not who moved.
A dimension that one of the two periods lacks (no user_tags, sessions not built) has no mover,
nor does one where nothing changed.

Order: the money movers by the size of their change, then the pipeline's. The first is "the
period's biggest mover".
"""
from __future__ import annotations

from dataclasses import dataclass

from metrics.baselines.slices import NO_OWNER, NO_SESSION
from metrics.review import DIMENSIONS, FIELD_OF, PeriodNumbers

CATCH_ALL = frozenset({NO_OWNER, NO_SESSION})


@dataclass(frozen=True)
class Mover:
    dimension: str
    key: str
    field: str          # "revenue" or "breached"
    value: float        # this period
    previous: float     # the period before

    @property
    def change(self) -> float:
        return round(self.value - self.previous, 2)

    @property
    def relative(self) -> float | None:
        """The change as a share of the previous value (None: it was 0)."""
        return round(self.change / self.previous, 4) if self.previous else None

    def to_json(self) -> dict:
        return {"dimension": self.dimension, "key": self.key, "field": self.field, "value": self.value,
                "previous": self.previous, "change": self.change}


def mover(dimension: str, now: dict[str, float], before: dict[str, float]) -> Mover | None:
    """The slice of `dimension` that moved most between `before` and `now`."""
    keys = sorted((set(now) | set(before)) - CATCH_ALL)
    best = None
    for k in keys:
        m = Mover(dimension, k, FIELD_OF[dimension], now.get(k, 0.0), before.get(k, 0.0))
        if m.change and (best is None or abs(m.change) > abs(best.change)):
            best = m
    return best


def movers(now: PeriodNumbers, before: PeriodNumbers) -> list[Mover]:
    """Each dimension's mover, money first by the size of the change, then the pipeline."""
    found = [m for dim in DIMENSIONS if dim in now.slices and dim in before.slices
             if (m := mover(dim, now.slices[dim], before.slices[dim])) is not None]
    return sorted(found, key=lambda m: (m.field != "revenue", -abs(m.change)))
