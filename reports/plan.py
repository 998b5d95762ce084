"""The plan in the daily digest (docs/plan.md): a block of pace lines after
"needs attention", one burn-up chart per plan in the album, and `pace` in the JSON.

"Revenue 4.1M of 7.5M (55%) · day 16 of 30 · on pace for 104%": money and large counts in the
compact form (CLDR numbers, the catalogue's units), shares as percentages; a week's plan is named
as the week's ("Revenue this week …"). Without a model for the days left (less than three weeks
of history) the line stops at the day count; on the period's last day it is the plan's result.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.i18n import t
from db.i18n.formats import fmt_compact, fmt_pct
from db.source import Source
from metrics.config import MetricConfig
from metrics.pace import Pace
from reports.attention import attention_lines
from reports.request import ReportRequest
from reports.specs.common import Line

log = logging.getLogger(__name__)

MAX_CHARTS = 3  # burn-ups in the album: a digest's five charts and three plans stay one album of 10


def compute_pace(engine: Engine, src: Source, cfg: MetricConfig, req: ReportRequest,
                 ran: Sequence[str]) -> list[Pace]:
    """The pace of the request's scope's plans, for the metrics that ran (`ran`). Like the
    baselines, a failure is logged and leaves the digest without pace; a lost connection
    propagates (the database is down)."""
    from metrics.pace_series import daily_pace
    from reports.registry import series_of

    try:
        with engine.connect() as conn, conn.begin():
            return daily_pace(conn, src, cfg, req.day, req.scope, series_of(list(ran)))
    except sa.exc.OperationalError:
        raise
    except Exception:
        log.exception("the plan's pace failed for %s", req.day.day)
        return []


def plan_name(p: Pace, loc: str) -> str:
    name = t(f"plan.name.{p.metric}", loc)
    return t("plan.week", loc, name=name) if p.period.kind == "week" else name


def pace_line(p: Pace, loc: str) -> str:
    """One plan in words; the projection only while days are left and a model exists."""
    words = {"name": plan_name(p, loc), "actual": fmt_compact(p.actual, loc), "target": fmt_compact(p.target, loc),
             "share": fmt_pct(p.share, loc), "done": p.days_done, "total": p.days_total}
    if p.complete or p.projected_share is None:
        return t("plan.line_plain", loc, **words)
    return t("plan.line", loc, **words, projected=fmt_pct(p.projected_share, loc))


def pace_block(paces: Sequence[Pace], loc: str) -> list[str]:
    return [t("plan.head", loc)] + [pace_line(p, loc) for p in paces] if paces else []


def with_pace(lines: list[Line], paces: Sequence[Pace], loc: str, baselines: Sequence) -> list[Line]:
    """The digest's lines (reports.text.build_lines) with the pace block after the header and the
    "needs attention" block, as headline lines (the album caption keeps them)."""
    block = pace_block(paces, loc)
    if not block:
        return lines
    at = next((i for i, x in enumerate(lines) if i > 0 and not x.text), len(lines))
    attention = attention_lines(baselines, loc)
    if attention:
        at += 1 + len(attention)
    return lines[:at] + [Line("")] + [Line(x, True) for x in block] + lines[at:]


def burnups(paces: Sequence[Pace], loc: str) -> list[tuple[str, bytes]]:
    """(name, PNG) of the first MAX_CHARTS plans' burn-ups."""
    from charts.burnup import render

    out = []
    for p in paces[:MAX_CHARTS]:
        try:
            out.append((f"plan_{p.period.kind}_{p.metric}", render(p, loc)))
        except Exception:  # a chart nobody foresaw fails alone, never the digest
            log.exception("the burn-up of %s failed", p.metric)
    return out
