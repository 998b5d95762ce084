"""Hanging processes at an instant: what the `hanging` alert targets watch (docs/alerts.md).

The daily metric (metrics.hanging) evaluates at the cutoff T = end of the report day; a state
alert asks "how many hang right now", so here T is any instant `at`. Everything else is the
daily metric's definition, literally the same SQL (metrics.hanging._sql): the latest start per
user within the lookback before `at`, open if no end at or after it before `at`, hanging if
`at - start >= SLA`. At `at = end of D` the counts equal metrics.hanging.compute for D.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.common import event_ids, excluded_event_ids
from metrics.config import MetricConfig
from metrics.hanging import _sql
from metrics.scope import Scope, scope_binds


@dataclass(frozen=True)
class HangingNow:
    at: datetime
    by_pipeline: dict[str, int]  # pipeline name -> processes hanging at `at`

    @property
    def by_key(self) -> dict[str, int]:
        """What reports.spec.StateTarget reads: the pipeline's count."""
        return self.by_pipeline

    @property
    def total(self) -> int:
        return sum(self.by_pipeline.values())


def hanging_at(conn: Connection, src: Source, cfg: MetricConfig, at: datetime,
               scope: Scope | None = None) -> HangingNow:
    if at.tzinfo is None:
        raise ValueError("hanging_at needs an aware instant")
    cutoff = at.astimezone(UTC)
    excluded = excluded_event_ids(conn, src, cfg)
    counts: dict[str, int] = {}
    for p in cfg.hanging.pipelines:
        ids = event_ids(conn, src, (p.start, *p.end_events))
        if not ids[p.start]:
            counts[p.name] = 0
            continue
        sla = timedelta(hours=p.sla_hours)
        params = {
            "start_ids": ids[p.start],
            "end_ids": sorted({i for name in p.end_events for i in ids[name]}) or [-1],
            "excluded_ids": excluded,
            "cutoff": cutoff,
            "lookback_start": cutoff - timedelta(days=cfg.hanging.lookback_days),
            "sla_cutoff": cutoff - sla,
            # breached_today is not read here; any window keeps the shared SQL valid
            "breach_from": cutoff - timedelta(days=1) - sla,
            "owner_prefix": cfg.hanging.owner_prefix,
        } | scope_binds(conn, src, scope)
        sql = _sql(src, p.ends_on_purchase and src.has("payments"), scope, excluded)
        rows = conn.execute(sa.text(sql), params)
        counts[p.name] = sum(int(n) for is_hanging, _b, _a, _o, n in rows if is_hanging)
    return HangingNow(at, counts)
