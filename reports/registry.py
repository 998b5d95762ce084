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


def funnel_with_channels(conn, src, cfg, day):
    """The funnel, broken down by acquisition channel too when web tracking exists."""
    if not src.has(*attribution.TABLES):
        return funnel.compute(conn, src, cfg, day)
    return funnel.compute(
        conn, src, cfg, day,
        channels=lambda reach: attribution.user_channel(conn, src, cfg, day, list(reach.users)),
    )


REGISTRY: dict[str, MetricSpec] = {
    "hanging": MetricSpec("hanging", hanging.compute, hanging.TABLES),
    "new_payers": MetricSpec("new_payers", new_payers.compute, new_payers.TABLES),
    "funnel": MetricSpec("funnel", funnel_with_channels, funnel.TABLES),
    "attribution": MetricSpec("attribution", attribution.compute, attribution.TABLES),
    "campaigns": MetricSpec("campaigns", campaigns.compute, campaigns.TABLES),
}
