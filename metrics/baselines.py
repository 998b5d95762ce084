"""Is today normal? Baselines of the checked daily numbers (DESIGN section 8).

INTERFACE STUB, agreed between the two halves of issue 12 (the detector and the alert rules):
the detector fills in `daily_baselines` and `band`; the alert rules only use what is declared
here. Names and fields below are the contract; do not rename them.

Target names (what `/alert TARGET ...` and `salespulse alerts backtest TARGET` accept for flow
targets) are `Baseline.target`:
    new_payers, new_payer_revenue, revenue, payments        (metric new_payers, key None)
    breached.<pipeline>                                     (metric hanging, field breached_today)
    sessions, sessions.<channel>                            (metric attribution, field sessions)
    sends.<channel>, block_share.<channel>, conversions.<channel>   (metric campaigns)
State targets (`hanging`, `hanging.<pipeline>`: processes hanging at this moment) are not
baselines; the alert rules evaluate them themselves.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.source import Source
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope

WEEKS = 8          # D-7 ... D-56
MIN_WEEKS = 4      # fewer same-weekday days with data: no verdict
MIN_DENOMINATOR = 20  # rates get no verdict below this


@dataclass(frozen=True)
class Band:
    expected: float
    low: float
    high: float


@dataclass(frozen=True)
class Baseline:
    metric: str          # the metric's JSON block: "new_payers", "hanging", "attribution", "campaigns"
    key: str | None      # pipeline or channel name; None for company-wide numbers
    field: str           # the number's key in its metric's JSON block, e.g. "breached_today"
    value: float | None  # D's value (None: no data on D)
    expected: float | None
    low: float | None
    high: float | None
    direction: str | None  # "low" / "high" outside the band; None inside it or without a verdict

    @property
    def target(self) -> str:
        name = TARGET_NAMES.get((self.metric, self.field), self.field)
        return name if self.key is None else f"{name}.{self.key}"


# (metric, field) -> the target's name where it differs from the field
TARGET_NAMES: dict[tuple[str, str], str] = {("hanging", "breached_today"): "breached"}


def band(history: Sequence[float], denominators: Sequence[float] | None = None) -> Band | None:
    """The usual band from the same weekday of the previous weeks (days without data left out).
    None without a verdict (fewer than MIN_WEEKS values; a rate whose denominator is below
    MIN_DENOMINATOR)."""
    raise NotImplementedError


def daily_baselines(conn, src: Source, cfg: MetricConfig, day: ReportDay,
                    scope: Scope | None = None) -> list[Baseline]:
    """Every checked number of D with its band: one SQL query per metric over D-56 ... D."""
    raise NotImplementedError

