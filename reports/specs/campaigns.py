"""Campaigns: what was sent and what it brought, the best campaign and the least returning one."""
from __future__ import annotations

from charts.labels import shorten
from charts.spec import ChartSpec
from db.i18n import t
from db.i18n.formats import DASH, fmt_money, fmt_num
from metrics import campaigns
from metrics.campaigns import CampaignResult, series
from metrics.config import MetricConfig
from reports.requirements import Optional, Requirements, exclusion
from reports.spec import MetricSpec
from reports.specs.common import Line, rows

CAMPAIGN_FIELDS = ("sent", "blocked", "failed", "opens", "human_clicks", "open_conversions",
                   "click_conversions", "revenue", "cost", "roas")


def text(r: CampaignResult, loc: str, bands=None) -> list[Line]:
    shown = r.channels or r.campaigns
    if not shown or sum(c.sent for c in shown) == 0:
        return [Line(t("digest.camp.empty", loc), True)]
    total = {f: sum(getattr(c, f) for c in shown) for f in
             ("sent", "blocked", "failed", "opens", "human_clicks", "open_conversions",
              "click_conversions", "revenue", "cost")}
    roas = t("digest.camp.roas", loc, v=fmt_num(total["revenue"] / total["cost"], loc, 1)) if total["cost"] > 0 else ""
    out = [
        Line(t("digest.camp", loc, sent=fmt_num(total["sent"], loc), blocked=fmt_num(total["blocked"], loc),
               failed=fmt_num(total["failed"], loc)), True),
        Line(t("digest.camp.result", loc, opens=fmt_num(total["opens"], loc), clicks=fmt_num(total["human_clicks"], loc),
               conv=fmt_num(total["open_conversions"] + total["click_conversions"], loc),
               rev=fmt_money(total["revenue"], loc), roas=roas), True),
    ]
    best = max((c for c in r.campaigns if c.revenue > 0), key=lambda c: c.revenue, default=None)
    if best is not None:
        out.append(Line(t("digest.camp.best", loc, name=shorten(best.campaign or DASH, 40),
                          channel=shorten(best.channel, 16), rev=fmt_money(best.revenue, loc))))
    # The campaign that returned least per unit of cost; campaigns without cost have no ROAS.
    worst = min((c for c in r.campaigns if c.roas is not None), key=lambda c: (c.roas, -c.cost), default=None)
    if worst is not None and worst is not best:
        out.append(Line(t("digest.camp.worst", loc, name=shorten(worst.campaign or DASH, 40),
                          channel=shorten(worst.channel, 16), roas=fmt_num(worst.roas, loc, 1))))
    return out


def csv_rows(name: str, r: CampaignResult) -> list[tuple]:
    out: list[tuple] = []
    for section, rows_ in (("channel", r.channels), ("campaign", r.campaigns)):
        for c in rows_:
            label = c.channel if c.campaign is None else f"{c.channel} / {c.campaign}"
            out += rows(name, section, label, c, CAMPAIGN_FIELDS)
            out += [(name, section, label, f"blocked:{k}", v) for k, v in c.blocked_by_reason.items()]
    return out


def needs(cfg: MetricConfig) -> Requirements:
    return Requirements(
        "campaigns", ("message_sends", "message_interactions", "payments"),
        (Optional(("web_events",), "no click counts as human (there is no web activity to check it against), "
                                   "so every conversion is an open conversion"),)
        + exclusion(cfg),
        why="sends, their opens and clicks, and the payments after them",
    )


def _compute(conn, src, cfg, day, scope=None):
    return campaigns.compute(conn, src, cfg, day, scope=scope)


SPEC = MetricSpec(
    "campaigns", _compute, needs, text, csv_rows, ChartSpec("charts.campaigns", "chart.camp.title"),
    aliases=("campaign",), numbers=series.NUMBERS, series=series.series,
)
