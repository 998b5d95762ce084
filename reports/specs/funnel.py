"""The funnel: the cohort's way to the last step, its weakest step, the spread across segments."""
from __future__ import annotations

from charts.labels import shorten
from charts.names import event_name, segment_name
from charts.spec import ChartSpec
from db.i18n import t
from db.i18n.formats import fmt_num, fmt_pct, fmt_short_date
from metrics import attribution, funnel
from metrics.attribution import touches
from metrics.config import PURCHASE, MetricConfig
from metrics.funnel import FunnelResult, series
from reports.requirements import EVENTS, Optional, Requirements
from reports.spec import MetricSpec
from reports.specs.common import NAME_MAX, Line, rows

STEP_FIELDS = ("users", "conversion_from_start", "conversion_from_previous", "median_hours_from_start")


def _final(steps) -> float | None:
    return steps[-1].conversion_from_start if steps else None


def text(r: FunnelResult, loc: str, bands=None) -> list[Line]:
    span = {"start": fmt_short_date(r.cohort_start, loc), "end": fmt_short_date(r.cohort_end, loc)}
    # the cohort says who is counted: new leads, or everyone who did step 1 (its configured name)
    step = shorten(event_name(r.steps[0].event, loc), 32) if r.steps else ""
    if not r.steps or r.steps[0].users == 0:
        key = "digest.funnel.empty.window" if r.cohort == "window" else "digest.funnel.empty"
        return [Line(t(key, loc, step=step, **span), True)]
    last = r.steps[-1]
    cohort = t(f"digest.funnel.cohort.{r.cohort}", loc, step=step)
    out = [Line(t("digest.funnel", loc, cohort=cohort, n=fmt_num(r.steps[0].users, loc), last=fmt_num(last.users, loc),
                  last_name=shorten(event_name(last.event, loc), 32),
                  pct=fmt_pct(last.conversion_from_start, loc), **span), True)]
    later = [(i, s) for i, s in enumerate(r.steps) if i > 0 and s.conversion_from_previous is not None]
    if later:
        i, weak = min(later, key=lambda x: x[1].conversion_from_previous)
        out.append(Line(t("digest.funnel.weak", loc, step=f"{i + 1}. " + shorten(event_name(weak.event, loc), NAME_MAX),
                          pct=fmt_pct(weak.conversion_from_previous, loc))))
    for kind in ("cluster", "channel"):
        segs = [s for s in r.segments if s.kind == kind and _final(s.steps) is not None]
        if len(segs) >= 2:
            best = max(segs, key=lambda s: (_final(s.steps), s.users))
            worst = min(segs, key=lambda s: (_final(s.steps), -s.users))
            if _final(best.steps) == _final(worst.steps):
                continue  # no spread, nothing to say
            out.append(Line(t("digest.funnel.segments", loc, kind=t(f"digest.funnel.{kind}", loc),
                              best=shorten(segment_name(best.name, loc), 36), bp=fmt_pct(_final(best.steps), loc),
                              worst=shorten(segment_name(worst.name, loc), 36), wp=fmt_pct(_final(worst.steps), loc))))
    return out


def csv_rows(name: str, r: FunnelResult) -> list[tuple]:
    out = rows(name, "cohort", "", r, ("cohort", "cohort_start", "cohort_end", "conversion_days"))
    for s in r.steps:
        out += rows(name, "all", s.event, s, STEP_FIELDS)
    for seg in r.segments:
        section = f"{seg.kind}: {seg.name}"
        out.append((name, section, "", "users", seg.users))
        for s in seg.steps:
            out += rows(name, section, s.event, s, STEP_FIELDS)
    return out


def needs(cfg: MetricConfig) -> Requirements:
    purchase = PURCHASE in cfg.funnel.steps
    optional = [Optional(("web_events", "payments"), "no breakdown of the cohort by acquisition channel")]
    if not purchase:
        optional.insert(0, Optional(("payments",), "payments are not among the cohort's events for clustering"))
    return Requirements(
        "funnel", EVENTS + (("payments",) if purchase else ()), tuple(optional),
        why="the funnel steps" + (" (the step purchase reads payments)" if purchase else ""),
        events=tuple(s for s in cfg.funnel.steps if s != PURCHASE),
    )


def with_channels(conn, src, cfg, day, scope=None):
    """The funnel, broken down by acquisition channel too when web tracking exists (the first
    touches read the session store's links, synced by the digest's sessions stage)."""
    if not src.has(*attribution.TABLES):
        return funnel.compute(conn, src, cfg, day, scope=scope)
    return funnel.compute(
        conn, src, cfg, day,
        channels=lambda reach: touches.user_channel(conn, src, cfg, day, list(reach.users)),
        scope=scope,
    )


def _store_days(cfg: MetricConfig, day) -> list:
    return []  # no day built: the channels read the links only


SPEC = MetricSpec(
    "funnel", with_channels, needs, text, csv_rows, ChartSpec("charts.funnel", "chart.funnel.title"),
    numbers=series.NUMBERS, series=series.series, store_days=_store_days,
)
