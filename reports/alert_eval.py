"""Evaluating alert rules against the source: one reading per rule, and the backtest.

A reading is the value a rule looks at and its outcome (reports.alert_machine.Outcome). State
targets read metrics.hanging_now at an instant; flow targets read metrics.baselines for one
complete report day. A failure of any kind becomes an outcome too (FAILED, with the error's
first line), so the caller records it like any other evaluation and the admins hear of it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from db.source import inspect_source
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import parse_scope
from reports.alert_machine import Outcome, fired_days
from reports.alert_rules import STATE, UNUSUAL, RuleSpec, holds, metric_of

log = logging.getLogger("salespulse.alerts")

Baselines = Callable[..., list]  # metrics.baselines.daily_baselines(conn, src, cfg, day, scope=, metrics=)


@dataclass(frozen=True)
class Reading:
    outcome: Outcome
    value: float | None = None
    day: date | None = None          # flow targets: the report day read
    at: datetime | None = None       # state targets: the instant read
    expected: float | None = None    # unusual: the band
    low: float | None = None
    high: float | None = None
    direction: str | None = None
    detail: str | None = None        # why nodata / the error


def due_day(now: datetime, tz: str, late: timedelta) -> date:
    """The latest complete report day whose late-data delay has passed: day D is read once
    end(D) + late <= now (end(D) is midnight after D in the chat's zone)."""
    local = (now - late).astimezone(ZoneInfo(tz))
    return local.date() - timedelta(days=1)


def _state_value(conn, src, cfg: MetricConfig, spec: RuleSpec, at: datetime, scope) -> float:
    from metrics.hanging_now import hanging_at

    now = hanging_at(conn, src, cfg, at, scope)
    if spec.target == "hanging":
        return float(now.total)
    return float(now.by_pipeline[spec.target.partition(".")[2]])


def judge(spec: RuleSpec, value: float | None, direction: str | None = None,
          expected: float | None = None) -> Outcome:
    if value is None:
        return Outcome.NODATA
    if spec.op == UNUSUAL:
        if expected is None:  # no verdict (too few weeks of history, a small denominator)
            return Outcome.NODATA
        return Outcome.HOLDS if direction is not None else Outcome.CLEAR
    return Outcome.HOLDS if holds(spec.op, spec.threshold, value) else Outcome.CLEAR


def _flow_reading(conn, src, cfg, spec: RuleSpec, day: ReportDay, scope, baselines: Baselines) -> Reading:
    numbers = baselines(conn, src, cfg, day, scope=scope, metrics=(metric_of(spec.target),))
    found = next((b for b in numbers if b.target == spec.target), None)
    if found is None:
        return Reading(Outcome.NODATA, day=day.day, detail=f"{spec.target} is not computed for {day.day}")
    return Reading(judge(spec, found.value, found.direction, found.expected), found.value, day=day.day,
                   expected=found.expected, low=found.low, high=found.high, direction=found.direction,
                   detail=None if found.value is not None else f"no value of {spec.target} on {day.day}")


def _default_baselines() -> Baselines:
    from metrics.baselines import daily_baselines

    return daily_baselines


def _first_line(exc: BaseException) -> str:
    from db.engine import redact

    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:500]


def read(engine: Engine, source_schema: str, cfg: MetricConfig, spec: RuleSpec, scope: str | None, *,
         at: datetime | None = None, day: ReportDay | None = None, state_schema: str = "salespulse",
         baselines: Baselines | None = None) -> Reading:
    """One reading at instant `at` (state target) or on report day `day` (flow target). Errors
    other than a lost database connection become a FAILED reading."""
    import sqlalchemy as sa

    try:
        parsed = parse_scope(scope)
        with engine.connect() as conn:
            src = inspect_source(conn, source_schema, state_schema)
            if spec.kind == STATE:
                value = _state_value(conn, src, cfg, spec, at, parsed)
                return Reading(judge(spec, value), value, at=at)
            return _flow_reading(conn, src, cfg, spec, day, parsed, baselines or _default_baselines())
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise
    except Exception as exc:  # a broken rule is an 'error' state, never a crash
        log.warning("alert %s (scope %s): evaluation failed: %s", spec.describe(), scope or "company",
                    _first_line(exc), exc_info=not isinstance(exc, NotImplementedError))
        return Reading(Outcome.FAILED, day=day.day if day else None, at=at, detail=_first_line(exc))


@dataclass(frozen=True)
class BacktestDay:
    day: date
    reading: Reading
    fired: bool


def backtest(engine: Engine, source_schema: str, cfg: MetricConfig, spec: RuleSpec, *, last_day: date,
             days: int, tz: str, scope: str | None = None, state_schema: str = "salespulse",
             baselines: Baselines | None = None,
             progress: Callable[[date], None] | None = None) -> list[BacktestDay]:
    """The rule replayed over the `days` report days ending `last_day`: a flow target on each
    day, a state target at each day's cutoff (the end of the day, as the digest reads hanging).
    `fired` marks the days whose evaluation would have sent a `firing` message (a rule that
    keeps firing fires once, the state machine's rule)."""
    readings = []
    for back in range(days - 1, -1, -1):
        d = ReportDay(last_day - timedelta(days=back), tz)
        r = (read(engine, source_schema, cfg, spec, scope, at=d.end, state_schema=state_schema)
             if spec.kind == STATE else
             read(engine, source_schema, cfg, spec, scope, day=d, state_schema=state_schema, baselines=baselines))
        readings.append((d.day, r))
        if progress is not None:
            progress(d.day)
    fired = set(fired_days([r.outcome for _, r in readings]))
    return [BacktestDay(day, r, i in fired) for i, (day, r) in enumerate(readings)]
