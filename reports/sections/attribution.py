"""Channels: sessions, conversions and revenue credited by the default model, the top three."""
from __future__ import annotations

from charts.labels import shorten
from charts.names import channel_name, model_name
from db.i18n import t
from db.i18n.formats import fmt_count, fmt_money, fmt_num, fmt_pct
from metrics.attribution import AttributionResult
from reports.sections.common import Line, rows

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
