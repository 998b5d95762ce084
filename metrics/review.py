"""The numbers of a week or a month in review (docs/plan.md; the definitions: docs/plan.md).

A period's number is the sum of its days' numbers, each day counted as the daily digest counts it
(each metric's `series`: its checked numbers' own SQL over the period's days; so a new payer is
new once, on the day of their first payment ever). A number *reaches* a period when its data
begin on or before the period's first day (and, for sessions, every day of it is in the session
store, built here when missing); else it is None for that period and is compared with nothing.

The slices of the movers, over the period:
- channel: revenue by the channel the default attribution model credits (last non-direct click),
  owner: revenue by the lead owner's tag (metrics.baselines.slices: the money numbers' drivers);
- campaign: the revenue metrics.campaigns credits to the period's sends, per campaign;
- pipeline: the processes that breached their SLA, per pipeline.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series, SeriesFn
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.pace import planned_series
from metrics.periods import Period
from metrics.scope import Scope
from metrics.targets import PLANNED

TOTALS = ("revenue", "new_payers", "payments", "sessions", "conversions", "breached")
DIMENSIONS = ("channel", "owner", "campaign", "pipeline")
FIELD_OF = {"channel": "revenue", "owner": "revenue", "campaign": "revenue", "pipeline": "breached"}


@dataclass(frozen=True)
class PeriodNumbers:
    period: Period
    totals: dict[str, float | None]                                # TOTALS -> the sum (None: not reached)
    daily: dict[str, dict[date, float]] = field(default_factory=dict)  # plannable number -> its days
    slices: dict[str, dict[str, float]] = field(default_factory=dict)  # dimension -> slice -> its number


@dataclass(frozen=True)
class Ask:
    """Which periods to read, for whom, from which metrics' series (metric -> its `series`: those
    with numbers that sum over days); `with_slices`: the periods whose movers are compared."""
    periods: tuple[Period, ...]      # the first is the period in review, the others compared with it
    timezone: str
    scope: Scope | None
    sources: Mapping[str, SeriesFn]
    with_slices: frozenset[Period] = frozenset()


def reaches(s: Series | None, p: Period) -> bool:
    return (s is not None and s.first_day is not None and s.first_day <= p.start
            and all(s.value(d) is not None for d in p.dates()))


def _sum(s: Series | None, p: Period, whole: bool) -> float | None:
    """The sum over `p`; not `whole`: over the days with data, None only without any."""
    if whole and not reaches(s, p):
        return None
    got = [v for d in p.dates() if (v := s.value(d)) is not None] if s is not None else []
    return round(sum(got), 2) if got else None


def numbers_of(found: Sequence[Series], p: Period, whole: bool = True) -> PeriodNumbers:
    """The period's totals, its plannable numbers day by day and its pipelines, from the series.
    `whole`: a number counts only when it reaches the period (a period compared with); the period
    in review itself sums what it has (a business that began mid-month still sees its month)."""
    totals: dict[str, float | None] = {}
    daily: dict[str, dict[date, float]] = {}
    for name in PLANNED:
        s = planned_series(found, name)
        if s is not None and (not whole or reaches(s, p)):
            daily[name] = {d: float(s.value(d) or 0.0) for d in p.dates()}
        if name in TOTALS:
            totals[name] = _sum(s, p, whole)
    pipes = {s.key: _sum(s, p, whole) for s in found if s.metric == "hanging" and s.field == "breached_today"}
    totals["breached"] = (None if not pipes or any(v is None for v in pipes.values())
                          else round(sum(pipes.values()), 2))
    slices = {"pipeline": {k: v for k, v in pipes.items() if v is not None}} if totals["breached"] is not None else {}
    return PeriodNumbers(p, totals, daily, slices)


def _runs(periods: Sequence[Period]) -> list[list[Period]]:
    """Periods in order, grouped where one ends the day before the next begins (one read each)."""
    out: list[list[Period]] = []
    for p in sorted(periods, key=lambda x: x.start):
        if out and (p.start - out[-1][-1].end).days == 1:
            out[-1].append(p)
        else:
            out.append([p])
    return out


def read_periods(conn: Connection, src: Source, cfg: MetricConfig, ask: Ask) -> dict[Period, PeriodNumbers]:
    """Every period of `ask`, each contiguous run of them read with one query per metric."""
    out: dict[Period, PeriodNumbers] = {}
    for run in _runs(ask.periods):
        day = ReportDay(run[-1].end, ask.timezone)
        back = (run[-1].end - run[0].start).days
        if "attribution" in ask.sources:
            _build_sessions(conn, src, cfg, day, [d for p in run for d in p.dates()])
        found = [s for fn in ask.sources.values() for s in fn(conn, src, cfg, day, ask.scope, back)]
        wanted = [p for p in run if p in ask.with_slices]
        money = _payer_slices(conn, src, cfg, day, ask.scope, back) if wanted else []
        for p in run:
            got = numbers_of(found, p, whole=p != ask.periods[0])
            if p in ask.with_slices:
                got.slices.update(_money_slices(money, p))
                if "campaigns" in ask.sources:
                    got.slices["campaign"] = campaign_revenue(conn, src, cfg, ReportDay(p.end, ask.timezone),
                                                              p.days, ask.scope)
            out[p] = got
    return out


def _build_sessions(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, days: list[date]) -> None:
    """The days of the periods in the session store, from the first web event on (never years of
    empty days before the data begin)."""
    from metrics.baselines.days import first_day
    from metrics.sessions.store import ensure_days

    first = first_day(conn, src, "web_events", "happened_at", day)
    wanted = [d for d in days if first is not None and d >= first]
    if wanted:
        ensure_days(conn, src, cfg.attribution, day.timezone, wanted)


def _payer_slices(conn, src, cfg, day: ReportDay, scope, back: int) -> list[Series]:
    from metrics.baselines.slices import payer_slices

    return [s for s in payer_slices(conn, src, cfg, day, scope, back) if s.field == "revenue"]


def _money_slices(found: list[Series], p: Period) -> dict[str, dict[str, float]]:
    """Revenue per channel and per owner over `p`; a dimension whose days are not all known
    (sessions not built) is left out whole."""
    out: dict[str, dict[str, float]] = {}
    complete: dict[str, bool] = {}
    for s in found:
        dim, key = (s.key or "|").split("|", 1)
        days = p.dates()
        known = s.known is None or all(d in s.known for d in days)
        complete[dim] = complete.get(dim, True) and known
        out.setdefault(dim, {})[key] = round(sum(s.values.get(d, 0.0) for d in days), 2)
    return {dim: v for dim, v in out.items() if complete[dim]}


def campaign_revenue(conn: Connection, src: Source, cfg: MetricConfig, end: ReportDay, days: int,
                     scope: Scope | None) -> dict[str, float]:
    """Revenue credited to the sends of the `days` days ending `end`, per campaign ("name (channel)")."""
    from metrics.campaigns import compute

    result = compute(conn, src, cfg, end, days=days, scope=scope)
    return {f"{r.campaign or '—'} ({r.channel})": float(r.revenue) for r in result.campaigns}
