"""Channels: sessions, conversions and revenue credited by the default model, the top three."""
from __future__ import annotations

from charts.labels import shorten
from charts.names import channel_name, model_name
from charts.spec import ChartSpec
from db.i18n import t
from db.i18n.formats import fmt_count, fmt_money, fmt_num, fmt_pct
from metrics import attribution
from metrics.attribution import AttributionResult, series
from metrics.config import MetricConfig
from reports.requirements import Requirements, exclusion
from reports.spec import MetricSpec
from reports.specs.common import Line, rows

CHANNEL_FIELDS = ("sessions", "users", "conversions", "revenue")


def text(r: AttributionResult, loc: str, bands=None) -> list[Line]:
    shown = [c for c in r.channels if c.sessions or c.conversions or c.revenue]
    if not shown:
        return [Line(t("digest.attr.empty", loc), True)]
    revenue = sum(c.revenue for c in shown)
    out = [Line(t("digest.attr", loc, model=model_name(r.model, loc), s=fmt_num(sum(c.sessions for c in shown), loc),
                  c=fmt_count(round(sum(c.conversions for c in shown), 1), loc),
                  r=fmt_money(revenue, loc)), True)]
    top = sorted((c for c in shown if c.revenue > 0), key=lambda c: -c.revenue)[:3]
    if top:
        items = " · ".join(f"{shorten(channel_name(c.channel, loc), 24)} {fmt_money(c.revenue, loc)} "
                           f"({fmt_pct(c.revenue / revenue, loc)})"
                           for c in top)
        out.append(Line(t("digest.attr.top", loc, items=items), True))
    return out


def csv_rows(name: str, r: AttributionResult) -> list[tuple]:
    out: list[tuple] = []
    models = dict(r.models)
    models.setdefault(r.model, r.channels)  # the default model's rows, once
    for model, channels in models.items():
        for c in channels:
            out += rows(name, model, c.channel, c, CHANNEL_FIELDS)
    return out


def needs(cfg: MetricConfig) -> Requirements:
    return Requirements(
        "attribution", attribution.TABLES, exclusion(cfg),
        why="sessions from web_events, credited with payments",
    )


def _compute(conn, src, cfg, day, scope=None):
    return attribution.compute(conn, src, cfg, day, users=scope)


def _store_days(cfg: MetricConfig, day) -> list:
    """The window its journeys read, and the days its checked numbers need."""
    return sorted(set(attribution.window_days(cfg, day)) | set(series.store_days(day)))


SPEC = MetricSpec(
    "attribution", _compute, needs, text, csv_rows, ChartSpec("charts.attribution", "chart.attr.title"),
    aliases=("channels",), numbers=series.NUMBERS, series=series.series, store_days=_store_days,
)
