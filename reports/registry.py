"""Which metric module computes which part of the digest (the tables it needs: reports.requirements).

Every `compute` here takes (conn, src, cfg, day, scope=None): `scope` is a metrics.scope.Scope
(None: company-wide), passed to each metric under the keyword it uses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metrics import attribution, campaigns, funnel, hanging, new_payers


@dataclass(frozen=True)
class MetricSpec:
    name: str
    compute: Callable[..., Any]


def funnel_with_channels(conn, src, cfg, day, scope=None):
    """The funnel, broken down by acquisition channel too when web tracking exists."""
    if not src.has(*attribution.TABLES):
        return funnel.compute(conn, src, cfg, day, scope=scope)
    return funnel.compute(
        conn, src, cfg, day,
        channels=lambda reach: attribution.user_channel(conn, src, cfg, day, list(reach.users)),
        scope=scope,
    )


def _attribution(conn, src, cfg, day, scope=None):
    return attribution.compute(conn, src, cfg, day, users=scope)


def _campaigns(conn, src, cfg, day, scope=None):
    return campaigns.compute(conn, src, cfg, day, scope=scope)


REGISTRY: dict[str, MetricSpec] = {
    "hanging": MetricSpec("hanging", hanging.compute),
    "new_payers": MetricSpec("new_payers", new_payers.compute),
    "funnel": MetricSpec("funnel", funnel_with_channels),
    "attribution": MetricSpec("attribution", _attribution),
    "campaigns": MetricSpec("campaigns", _campaigns),
}
