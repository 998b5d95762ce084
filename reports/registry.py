"""Every metric of the digest, in digest order, in one place: its name and title, the words that
ask for it, how it is computed, its text section, its CSV rows and its chart.

Adding a metric: a metrics/ module (compute), a reports/sections/ module (text, csv_rows), a
charts/ module (render), a rule in reports.requirements (the tables it needs, derived from the
metric configuration), one line in REGISTRY below, and its title and button label
(`[metric]`, `[button]`) in charts/i18n/locales/en.toml (other languages fall back to English). reports.request (names and aliases),
reports.text (order, sections, CSV), reports.requirements and the charts of a digest all read
REGISTRY.

Every `compute` here takes (conn, src, cfg, day, scope=None): `scope` is a metrics.scope.Scope
(None: company-wide), passed to each metric under the keyword it uses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from charts.spec import ChartSpec
from metrics import attribution, campaigns, funnel, hanging, new_payers
from metrics.attribution import touches
from metrics.config import MetricConfig
from reports import requirements as needs
from reports.requirements import Requirements
from reports.sections import attribution as attribution_text
from reports.sections import campaigns as campaigns_text
from reports.sections import funnel as funnel_text
from reports.sections import hanging as hanging_text
from reports.sections import new_payers as new_payers_text


@dataclass(frozen=True)
class MetricSpec:
    name: str
    title: str  # catalogue key (db.i18n) of how the text names it ("⚠️ Funnel skipped: …")
    compute: Callable[..., Any]
    needs: Callable[[MetricConfig], Requirements]  # the tables it needs, from the configuration
    text: Callable[..., list]  # (result, locale, bands) -> reports.sections.common.Line items
    csv_rows: Callable[[str, Any], list[tuple]]  # (name, result) -> (metric, section, name, field, value)
    chart: ChartSpec | None = None  # None: the metric has no chart
    aliases: tuple[str, ...] = ()  # other words people type for it (lower case)
    button: str = ""  # catalogue key of its short label on the bot's buttons


def funnel_with_channels(conn, src, cfg, day, scope=None):
    """The funnel, broken down by acquisition channel too when web tracking exists."""
    if not src.has(*attribution.TABLES):
        return funnel.compute(conn, src, cfg, day, scope=scope)
    return funnel.compute(
        conn, src, cfg, day,
        channels=lambda reach: touches.user_channel(conn, src, cfg, day, list(reach.users)),
        scope=scope,
    )


def _attribution(conn, src, cfg, day, scope=None):
    return attribution.compute(conn, src, cfg, day, users=scope)


def _campaigns(conn, src, cfg, day, scope=None):
    return campaigns.compute(conn, src, cfg, day, scope=scope)


def _spec(name: str, compute, rule, section, chart: ChartSpec | None,
          aliases: tuple[str, ...] = ()) -> MetricSpec:
    """`rule`: its reports.requirements function; `section`: the reports.sections module with its
    text and csv_rows. Its title and button label are the catalogue's metric.<name> and
    button.<name> (charts/i18n/locales)."""
    return MetricSpec(name, f"metric.{name}", compute, rule, section.text, section.csv_rows, chart, aliases,
                      f"button.{name}")


# Digest order: what is stuck first, then money, then why.
REGISTRY: dict[str, MetricSpec] = {s.name: s for s in (
    #     name, compute, tables, section, chart, aliases
    _spec("hanging", hanging.compute, needs.hanging, hanging_text,
          ChartSpec("charts.hanging", "chart.hanging.title"), ("processes",)),
    _spec("new_payers", new_payers.compute, needs.new_payers, new_payers_text,
          ChartSpec("charts.new_payers", "chart.payers.title", banded=True), ("payers", "newpayers", "new-payers")),
    _spec("funnel", funnel_with_channels, needs.funnel, funnel_text,
          ChartSpec("charts.funnel", "chart.funnel.title")),
    _spec("attribution", _attribution, needs.attribution, attribution_text,
          ChartSpec("charts.attribution", "chart.attr.title"), ("channels",)),
    _spec("campaigns", _campaigns, needs.campaigns, campaigns_text,
          ChartSpec("charts.campaigns", "chart.camp.title"), ("campaign",)),
)}

# The charts of a digest, in digest order (charts.render draws them; charts never import reports).
CHARTS: dict[str, ChartSpec] = {name: s.chart for name, s in REGISTRY.items() if s.chart is not None}
