"""Pace alerts (docs/plan.md): `/alert revenue.pace < 90`, the month's projected share of its
plan in percent (metrics.pace; `.pace.week`: the week's plan). A flow target: read once per
complete day D, as the daily digest of D projects it (the plan of the chat's own scope, the
model fitted up to D), and told once per change like every rule (reports.alert_machine).

No plan for the period (or no model yet, under three weeks of history) is `nodata`, not an
error: a month without a plan row simply has nothing to say about its pace. A pace has no usual
band, so `unusual` is refused.
"""
from __future__ import annotations

from metrics.targets import PLANNED

ALIASES = {"payers": "new_payers"}
SUFFIXES = {"pace": "month", "pace.week": "week"}


def pace_target(head: str, key: str) -> str | None:
    """The canonical pace target for `head.key` ("revenue", "pace"), or None when it is not one."""
    head = ALIASES.get(head, head)
    key = key.strip().lower().replace(" ", "")
    return f"{head}.{key}" if head in PLANNED and key in SUFFIXES else None


def is_pace(target: str) -> bool:
    head, _, key = target.partition(".")
    return pace_target(head, key) == target


def pace_key(target: str) -> tuple[str, str]:
    """(metric, period kind) of a canonical pace target."""
    head, _, key = target.partition(".")
    return head, SUFFIXES[key]


def pace_readings(conn, src, cfg, day, scope) -> dict[str, float | None]:
    """Every pace target of the scope's plans on report day `day`: projected percent of plan
    (None: no projection yet)."""
    from metrics.pace_series import daily_pace
    from reports.readiness import readiness
    from reports.registry import REGISTRY, series_of

    ran = [n for n, s in REGISTRY.items() if readiness(s.needs(cfg), cfg, src).runs]
    out: dict[str, float | None] = {}
    for p in daily_pace(conn, src, cfg, day, scope, series_of(ran)):
        suffix = "pace" if p.period.kind == "month" else "pace.week"
        out[f"{p.metric}.{suffix}"] = None if p.projected_share is None else round(p.projected_share * 100, 2)
    return out
