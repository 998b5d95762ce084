"""Hanging processes: the stuck pipelines, worst first, and who owns them."""
from __future__ import annotations

from charts.labels import shorten
from charts.names import shown_name
from charts.spec import ChartSpec
from db.i18n import t
from db.i18n.formats import fmt_num
from metrics import hanging
from metrics.checked import PIPELINE
from metrics.config import MetricConfig
from metrics.hanging import HangingResult, series
from metrics.hanging.now import hanging_at
from reports.owners import owner_lines
from reports.requirements import EVENTS, Optional, Requirements
from reports.spec import MetricSpec, StateTarget
from reports.specs.common import NAME_MAX, Line, rows


def text(r: HangingResult, loc: str, bands=None) -> list[Line]:
    pipes = sorted(r.pipelines, key=lambda p: (-p.hanging, -p.breached_today, p.name))
    stuck = [p for p in pipes if p.hanging > 0]
    if not stuck:
        return [Line(t("digest.hanging.none", loc), True)]
    total = sum(p.hanging for p in pipes)
    today = sum(p.breached_today for p in pipes)
    out = [Line(t("digest.hanging", loc, n=fmt_num(total, loc), today=fmt_num(today, loc)), True)]
    for i, p in enumerate(stuck[:12]):
        out.append(Line(t("digest.hanging.pipe", loc, name=shorten(shown_name(p.name, loc), NAME_MAX), n=fmt_num(p.hanging, loc),
                          today=fmt_num(p.breached_today, loc), open=fmt_num(p.open_within_sla, loc)),
                        caption=i < 3))
    rest = stuck[12:]
    if rest:
        out.append(Line(t("digest.hanging.more", loc, k=fmt_num(len(rest), loc),
                          n=fmt_num(sum(p.hanging for p in rest), loc))))
    clear = [shown_name(p.name, loc) for p in pipes if p.hanging == 0]
    if clear:
        out.append(Line(t("digest.hanging.clear", loc, names=shorten(", ".join(clear), 160))))
    out.extend(Line(x, True) for x in owner_lines(r, loc))
    return out


def csv_rows(name: str, r: HangingResult) -> list[tuple]:
    out: list[tuple] = []
    for p in r.pipelines:
        out += rows(name, "pipeline", p.name, p, ("sla_hours", "hanging", "open_within_sla", "breached_today"))
        out += [(name, "age_days", p.name, b.label, b.users) for b in p.age_buckets]
        for o in p.by_owner:
            out += [(name, f"owner: {p.name}", o.owner or "", f, getattr(o, f)) for f in ("hanging", "breached_today")]
    return out


def needs(cfg: MetricConfig) -> Requirements:
    purchase = any(p.ends_on_purchase for p in cfg.hanging.pipelines)
    return Requirements(
        "hanging", EVENTS,
        (Optional(("payments",), "pipelines ending on purchase close by their end events only"),)
        if purchase else (),
        why="start and end events of the pipelines",
        events=tuple(n for p in cfg.hanging.pipelines for n in (p.start, *p.end_events)),
    )


SPEC = MetricSpec(
    "hanging", hanging.compute, needs, text, csv_rows, ChartSpec("charts.hanging", "chart.hanging.title"),
    aliases=("processes",), numbers=series.NUMBERS, series=series.series,
    state=StateTarget("hanging", PIPELINE, hanging_at),
)
