"""Evaluating alert rules against the source: one reading per rule, and the backtest.

A reading is the value a rule looks at and its outcome (reports.alert_machine.Outcome). State
targets read metrics.hanging.now at an instant; flow targets read metrics.baselines for one
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
    expected: float | None = None    # flow targets: the usual band (metrics.baselines)
    low: float | None = None
    high: float | None = None
    direction: str | None = None
    detail: str | None = None        # why nodata / the error


def due_day(now: datetime, tz: str, late: timedelta) -> date:
    """The latest complete report day whose late-data delay has passed: day D is read once
    end(D) + late <= now (end(D) is midnight after D in the chat's zone)."""
    local = (now - late).astimezone(ZoneInfo(tz))
    return local.date() - timedelta(days=1)


def judge(spec: RuleSpec, value: float | None, direction: str | None = None,
          expected: float | None = None) -> Outcome:
    if value is None:
        return Outcome.NODATA
    if spec.op == UNUSUAL:
        if expected is None:  # no verdict (too few weeks of history, a small denominator)
            return Outcome.NODATA
        return Outcome.HOLDS if direction is not None else Outcome.CLEAR
    return Outcome.HOLDS if holds(spec.op, spec.threshold, value) else Outcome.CLEAR


def _flow_reading(spec: RuleSpec, found, day: date) -> Reading:
    """`found`: the target's metrics.baselines.Baseline on `day`, or None."""
    if found is None:
        return Reading(Outcome.NODATA, day=day, detail=f"{spec.target} is not computed for {day}")
    return Reading(judge(spec, found.value, found.direction, found.expected), found.value, day=day,
                   expected=found.expected, low=found.low, high=found.high, direction=found.direction,
                   detail=None if found.value is not None else f"no value of {spec.target} on {day}")


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
    """One reading at instant `at` (state target) or on report day `day` (flow target)."""
    return read_all(engine, source_schema, cfg, [spec], scope, at=at, day=day, state_schema=state_schema,
                    baselines=baselines)[0]


def read_all(engine: Engine, source_schema: str, cfg: MetricConfig, specs: list[RuleSpec], scope: str | None, *,
             at: datetime | None = None, day: ReportDay | None = None, state_schema: str = "salespulse",
             baselines: Baselines | None = None) -> list[Reading]:
    """The readings of several rules of one scope: the state targets at instant `at`, the flow
    targets on report day `day`. Each number is computed once for all of them (one hanging query
    per scope and check, one baselines query per metric), however many rules read it. A failure
    other than a lost database connection (raised: the caller retries) becomes a FAILED reading
    of the rules that needed that number."""
    import sqlalchemy as sa

    try:
        return _read_all(engine, source_schema, cfg, specs, scope, at, day, state_schema,
                         baselines or _default_baselines())
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - the scope or the source itself: every rule of the group fails
        log.warning("alerts (scope %s): evaluation failed: %s", scope or "company", _first_line(exc))
        return [Reading(Outcome.FAILED, at=at, day=day.day if day else None, detail=_first_line(exc))
                for _ in specs]


def _read_all(engine, source_schema, cfg, specs, scope, at, day, state_schema, baselines) -> list[Reading]:
    import sqlalchemy as sa

    from metrics.hanging.now import hanging_at

    parsed = parse_scope(scope)
    out: list[Reading] = []
    with engine.connect() as conn:
        src = inspect_source(conn, source_schema, state_schema)
        computed: dict[str, object] = {}  # "hanging" or a metric name -> its numbers (or the failure)

        def numbers(key: str, compute):
            if key not in computed:
                try:
                    computed[key] = compute()
                except (sa.exc.OperationalError, sa.exc.InterfaceError):
                    raise
                except Exception as exc:  # a broken rule is an 'error' state, never a crash
                    conn.rollback()  # the next query must not run in an aborted transaction
                    log.warning("alerts (scope %s): %s failed: %s", scope or "company", key, _first_line(exc),
                                exc_info=not isinstance(exc, NotImplementedError))
                    computed[key] = exc
            return computed[key]

        for spec in specs:
            if spec.kind == STATE:
                if not src.has("events", "events_dict"):
                    out.append(Reading(Outcome.NODATA, at=at, detail="the source has no events table"))
                    continue
                now = numbers("hanging", lambda: hanging_at(conn, src, cfg, at, parsed))
                if isinstance(now, Exception):
                    out.append(Reading(Outcome.FAILED, at=at, detail=_first_line(now)))
                    continue
                value = float(now.total if spec.target == "hanging" else now.by_pipeline[spec.target.partition(".")[2]])
                out.append(Reading(judge(spec, value), value, at=at))
            else:
                metric = metric_of(spec.target)
                found = numbers(metric, lambda m=metric: {
                    b.target: b for b in baselines(conn, src, cfg, day, scope=parsed, metrics=(m,))})
                if isinstance(found, Exception):
                    out.append(Reading(Outcome.FAILED, day=day.day, detail=_first_line(found)))
                    continue
                out.append(_flow_reading(spec, found.get(spec.target), day.day))
    return out


@dataclass(frozen=True)
class BacktestDay:
    day: date
    reading: Reading
    fired: bool          # a `firing` message would have gone out (entering firing)
    firing: bool = False  # the rule is firing on this day (every day of a run, not only its first)


def backtest(engine: Engine, source_schema: str, cfg: MetricConfig, spec: RuleSpec, *, last_day: date,
             days: int, tz: str, scope: str | None = None, state_schema: str = "salespulse",
             baselines: Baselines | None = None,
             progress: Callable[[date], None] | None = None) -> list[BacktestDay]:
    """The rule replayed over the `days` report days ending `last_day`: a flow target on each
    day, a state target at each day's cutoff (the end of the day, as the digest reads hanging).
    `fired` marks the days whose evaluation would have sent a `firing` message (a rule that
    keeps firing fires once, the state machine's rule); `firing` every day it holds.

    A flow target reads its metric's series once for the whole range and judges each day with
    the digest's detector (metrics.baselines.verdicts), not one query per day; `baselines` given
    (tests), each day is read through it instead."""
    dates = [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]
    if spec.kind != STATE and baselines is None:
        readings = list(zip(dates, _flow_range(engine, source_schema, cfg, spec, dates, tz, scope, state_schema,
                                               progress), strict=True))
    else:
        readings = []
        for d0 in dates:
            d = ReportDay(d0, tz)
            r = (read(engine, source_schema, cfg, spec, scope, at=d.end, state_schema=state_schema)
                 if spec.kind == STATE else
                 read(engine, source_schema, cfg, spec, scope, day=d, state_schema=state_schema, baselines=baselines))
            readings.append((d.day, r))
            if progress is not None:
                progress(d.day)
    fired = set(fired_days([r.outcome for _, r in readings]))
    return [BacktestDay(day, r, i in fired, r.outcome is Outcome.HOLDS) for i, (day, r) in enumerate(readings)]


def _flow_range(engine, source_schema, cfg, spec, dates, tz, scope, state_schema, progress) -> list[Reading]:
    import sqlalchemy as sa

    from metrics.baselines.series import series
    from metrics.baselines.verdicts import judge
    from metrics.detector.check import HISTORY_DAYS

    metric, last = metric_of(spec.target), ReportDay(dates[-1], tz)
    try:
        with engine.connect() as conn:
            src = inspect_source(conn, source_schema, state_schema)
            found = {s.target: s for s in series(conn, src, cfg, last, parse_scope(scope), (metric,),
                                                  back=len(dates) - 1 + HISTORY_DAYS, built_days=dates)}
            conn.commit()
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - the rule's error state, as a reading
        log.warning("alerts backtest (scope %s): %s failed: %s", scope or "company", metric, _first_line(exc))
        return [Reading(Outcome.FAILED, day=d, detail=_first_line(exc)) for d in dates]
    out = []
    for d in dates:
        s = found.get(spec.target)
        out.append(_flow_reading(spec, None if s is None else judge(s, d, cfg.baselines.holidays), d))
        if progress is not None:
            progress(d)
    return out
