"""Which metric module computes which part of the digest, and which source tables it needs."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metrics import attribution, campaigns, funnel, hanging, new_payers


@dataclass(frozen=True)
class MetricSpec:
    name: str
    compute: Callable[..., Any]
    tables: tuple[str, ...]


REGISTRY: dict[str, MetricSpec] = {
    m.__name__.rsplit(".", 1)[1]: MetricSpec(m.__name__.rsplit(".", 1)[1], m.compute, m.TABLES)
    for m in (hanging, new_payers, funnel, attribution, campaigns)
}
