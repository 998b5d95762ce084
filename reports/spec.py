"""What a metric is, in one place: the spec that every part of SalesPulse reads (docs/architecture.md).

A spec names the metric's day (`compute`), the tables it needs under a configuration (`needs`),
its words in the digest (`text`) and its CSV rows (`csv_rows`), its chart, the words people type
for it, its checked numbers (`numbers`, with `series` giving their daily values) and, for a metric
that reads the session store, the days of the store it reads (`store_days`). The digest, the
JSON, the CSV, `salespulse check`, the baselines, the alert rules and the bot's buttons all derive
from the specs in reports.registry; its title and button label are the catalogue's
`metric.<name>` and `button.<name>` (db.i18n).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from charts.spec import ChartSpec
from metrics.baselines import SeriesFn
from metrics.checked import Number
from metrics.config import MetricConfig
from metrics.day import ReportDay
from reports.requirements import Requirements


@dataclass(frozen=True)
class StateTarget:
    """Alert targets read at an instant, not per day (`hanging`, `hanging.<pipeline>`): `read`
    gives an object with `total` and `by_key` (key -> value) at that instant."""
    name: str
    key: str | None
    read: Callable[..., Any]  # (conn, src, cfg, at, scope)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    compute: Callable[..., Any]  # (conn, src, cfg, day, scope) -> the metric's typed result
    needs: Callable[[MetricConfig], Requirements]  # the tables it needs under a configuration
    text: Callable[..., list]  # (result, locale, bands) -> reports.specs.common.Line items
    csv_rows: Callable[[str, Any], list[tuple]]  # (name, result) -> (metric, section, name, field, value)
    chart: ChartSpec | None = None  # None: the metric has no chart
    aliases: tuple[str, ...] = ()  # other words people type for it (lower case)
    numbers: tuple[Number, ...] = ()  # its checked numbers (metrics.checked)
    series: SeriesFn | None = None  # their daily values over a range of days
    state: StateTarget | None = None  # alert targets read at an instant
    store_days: Callable[[MetricConfig, ReportDay], list[date]] | None = None  # session days it reads

    @property
    def title(self) -> str:
        """Catalogue key of how the text names it ("⚠️ Funnel skipped: …")."""
        return f"metric.{self.name}"

    @property
    def button(self) -> str:
        """Catalogue key of its short label on the bot's buttons."""
        return f"button.{self.name}"
