"""New payers and money: D against its usual band, or against D-1 and D-7 without one."""
from __future__ import annotations

from charts.spec import ChartSpec
from db.i18n import t
from db.i18n.formats import fmt_money, fmt_num
from metrics import new_payers
from metrics.baselines import Baseline
from metrics.config import MetricConfig
from metrics.new_payers import NewPayersResult
from reports.bands import band_note
from reports.i18n import fmt_changes
from reports.requirements import Requirements, exclusion
from reports.spec import MetricSpec
from reports.specs.common import Line, rows

DAY_FIELDS = ("new_payers", "new_payer_revenue", "payments", "paying_users", "revenue")


def text(r: NewPayersResult, loc: str, bands: dict[str, Baseline] | None = None) -> list[Line]:
    d1, d7 = r.previous_day, r.week_ago
    bands = bands or {}

    def chg(f: str) -> str:
        # the usual band when the number has one; arrows against D-1 and D-7 only without it
        note = band_note(bands.get(f), loc)
        return note or fmt_changes(getattr(r, f), getattr(d1, f), getattr(d7, f), loc)

    return [
        Line(t("digest.payers", loc, n=fmt_num(r.new_payers, loc), chg=chg("new_payers")), True),
        Line(t("digest.payers.new_rev", loc, v=fmt_money(r.new_payer_revenue, loc), chg=chg("new_payer_revenue"))),
        Line(t("digest.payers.revenue", loc, v=fmt_money(r.revenue, loc), chg=chg("revenue")), True),
        Line(t("digest.payers.payments", loc, n=fmt_num(r.payments, loc), u=fmt_num(r.paying_users, loc),
               chg=chg("payments"))),
    ]


def csv_rows(name: str, r: NewPayersResult) -> list[tuple]:
    out = rows(name, "D", r.report_date.isoformat(), r, DAY_FIELDS)
    out += rows(name, "D-1", r.previous_day.date.isoformat(), r.previous_day, DAY_FIELDS)
    out += rows(name, "D-7", r.week_ago.date.isoformat(), r.week_ago, DAY_FIELDS)
    for d in r.daily:
        out += rows(name, "daily", d.date.isoformat(), d, DAY_FIELDS)
    return out


def needs(cfg: MetricConfig) -> Requirements:
    return Requirements("new_payers", ("payments",), exclusion(cfg), why="the payments")


SPEC = MetricSpec(
    "new_payers", new_payers.compute, needs, text, csv_rows,
    ChartSpec("charts.new_payers", "chart.payers.title", banded=True), aliases=("payers", "newpayers", "new-payers"),
    numbers=new_payers.NUMBERS, series=new_payers.series,
)
