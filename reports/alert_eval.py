"""Evaluating alert rules against the source: one reading per rule, and the backtest.

A reading is the value a rule looks at and its outcome (reports.alert_machine.Outcome). State
targets read their metric spec's `state` at an instant (hanging: metrics.hanging.now); flow
targets read the checked numbers (reports.baselines) for one complete report day. A failure of any kind becomes an outcome too (FAILED, with the error's
first line), so the caller records it like any other evaluation and the admins hear of it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from db.source import DEFAULT_STATE_SCHEMA, inspect_source
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import parse_scope
from reports.alert_machine import Outcome, fired_days
from reports.alert_rules import STATE, UNUSUAL, RuleSpec, holds, metric_of
from reports.baselines import checked, prepare_store
from reports.pace_alerts import is_pace, pace_readings
from reports.registry import REGISTRY

log = logging.getLogger("salespulse.alerts")

Baselines = Callable[..., list]  # reports.baselines.checked(conn, src, cfg, day, scope=, metrics=)


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


def _first_line(exc: BaseException) -> str:
    from db.engine import redact

    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:500]


@dataclass(frozen=True)
class Reader:
    """Where alert rules read their numbers: the database, its source and state schemas, the
    metric configuration, and the detector (reports.baselines.checked; tests give section 8's)."""
    engine: Engine
    source_schema: str
    cfg: MetricConfig
    state_schema: str = DEFAULT_STATE_SCHEMA
    baselines: Baselines | None = None  # None: the digest's detector (reports.baselines.checked)

    def read(self, spec: RuleSpec, scope: str | None, *, at: datetime | None = None,
             day: ReportDay | None = None) -> Reading:
        """One reading at instant `at` (state target) or on report day `day` (flow target)."""
        return self.read_all([spec], scope, at=at, day=day)[0]

    def read_all(self, specs: list[RuleSpec], scope: str | None, *, at: datetime | None = None,
                 day: ReportDay | None = None) -> list[Reading]:
        """The readings of several rules of one scope: the state targets at instant `at`, the flow
        targets on report day `day`. Each number is computed once for all of them (one read of a
        state target per scope and check, one baselines query per metric), however many rules
        read it. A failure other than a lost database connection (raised: the caller retries)
        becomes a FAILED reading of the rules that needed that number."""
        import sqlalchemy as sa

        try:
            return _read_all(self, specs, parse_scope(scope), at, day)
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            raise
        except Exception as exc:  # noqa: BLE001 - the scope or the source itself: every rule of the group fails
            log.warning("alerts (scope %s): evaluation failed: %s", scope or "company", _first_line(exc))
            return [Reading(Outcome.FAILED, at=at, day=day.day if day else None, detail=_first_line(exc))
                    for _ in specs]


def _read_all(reader: Reader, specs: list[RuleSpec], scope, at, day) -> list[Reading]:
    import sqlalchemy as sa

    cfg = reader.cfg
    out: list[Reading] = []
    with reader.engine.connect() as conn:
        src = inspect_source(conn, reader.source_schema, reader.state_schema)
        computed: dict[str, object] = {}  # a state target's or a metric's numbers (or the failure)

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
            if is_pace(spec.target):  # the plan's pace (reports.pace_alerts): the percent of plan projected
                got = numbers("pace", lambda: pace_readings(conn, src, cfg, day, scope))
                value = None if isinstance(got, Exception) else got.get(spec.target)
                out.append(Reading(Outcome.FAILED, day=day.day, detail=_first_line(got)) if isinstance(got, Exception)
                           else Reading(judge(spec, value), value, day=day.day, detail=None if value is not None else
                                        f"no plan or no projection of {spec.target} on {day.day}"))
                continue
            metric = REGISTRY[metric_of(spec.target)]
            if spec.kind == STATE:
                if missing := metric.needs(cfg).missing(src):
                    out.append(Reading(Outcome.NODATA, at=at, detail=f"the source has no {', '.join(missing)} "
                                                                     f"table{'s' if len(missing) > 1 else ''}"))
                    continue
                now = numbers(metric.name, lambda m=metric: m.state.read(conn, src, cfg, at, scope))
                if isinstance(now, Exception):
                    out.append(Reading(Outcome.FAILED, at=at, detail=_first_line(now)))
                    continue
                _, dot, key = spec.target.partition(".")
                value = float(now.by_key[key] if dot else now.total)
                out.append(Reading(judge(spec, value), value, at=at))
            else:
                found = numbers(metric.name, lambda m=metric.name: _flow_numbers(reader, conn, src, day, scope, m))
                if isinstance(found, Exception):
                    out.append(Reading(Outcome.FAILED, day=day.day, detail=_first_line(found)))
                    continue
                out.append(_flow_reading(spec, found.get(spec.target), day.day))
    return out


def _flow_numbers(reader: Reader, conn, src, day: ReportDay, scope, metric: str) -> dict:
    """Target -> its Baseline on `day`: the session days it reads built first, as a digest does."""
    conn.commit()  # the store is prepared on connections of its own
    prepare_store(reader.engine, src, reader.cfg, [day], (metric,))
    judge_day = reader.baselines or checked
    return {b.target: b for b in judge_day(conn, src, reader.cfg, day, scope=scope, metrics=(metric,))}


@dataclass(frozen=True)
class BacktestDay:
    day: date
    reading: Reading
    fired: bool          # a `firing` message would have gone out (entering firing)
    firing: bool = False  # the rule is firing on this day (every day of a run, not only its first)


@dataclass(frozen=True)
class Days:
    """The report days a backtest replays: the `count` days ending `last` in zone `tz`."""
    last: date
    count: int
    tz: str

    @property
    def dates(self) -> list[date]:
        return [self.last - timedelta(days=back) for back in range(self.count - 1, -1, -1)]


def backtest(reader: Reader, spec: RuleSpec, days: Days, scope: str | None = None,
             progress: Callable[[date], None] | None = None) -> list[BacktestDay]:
    """The rule replayed over `days`: a flow target on each day, a state target at each day's
    cutoff (the end of the day, as the digest reads hanging). `fired` marks the days whose
    evaluation would have sent a `firing` message (a rule that keeps firing fires once, the state
    machine's rule); `firing` every day it holds.

    A flow target reads its metric's series once for the whole range and judges each day with
    the digest's detector (metrics.baselines.verdicts), not one query per day; a reader with a
    detector of its own (tests) reads each day through it instead."""
    dates = days.dates
    if spec.kind != STATE and reader.baselines is None and not is_pace(spec.target):
        readings = list(zip(dates, _flow_range(reader, spec, days, scope, progress), strict=True))
    else:
        readings = []
        for d0 in dates:
            d = ReportDay(d0, days.tz)
            r = (reader.read(spec, scope, at=d.end) if spec.kind == STATE else reader.read(spec, scope, day=d))
            readings.append((d.day, r))
            if progress is not None:
                progress(d.day)
    fired = set(fired_days([r.outcome for _, r in readings]))
    return [BacktestDay(day, r, i in fired, r.outcome is Outcome.HOLDS) for i, (day, r) in enumerate(readings)]


def _flow_range(reader: Reader, spec: RuleSpec, days: Days, scope: str | None,
                progress: Callable[[date], None] | None) -> list[Reading]:
    import sqlalchemy as sa

    from metrics.baselines.verdicts import judge
    from metrics.detector.check import HISTORY_DAYS

    dates, metric = days.dates, REGISTRY[metric_of(spec.target)]
    last = ReportDay(dates[-1], days.tz)
    try:
        with reader.engine.connect() as conn:
            src = inspect_source(conn, reader.source_schema, reader.state_schema)
            conn.commit()
            prepare_store(reader.engine, src, reader.cfg, [ReportDay(d, days.tz) for d in dates], (metric.name,))
            found = {s.target: s for s in metric.series(conn, src, reader.cfg, last, parse_scope(scope),
                                                          len(dates) - 1 + HISTORY_DAYS)}
            conn.commit()
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - the rule's error state, as a reading
        log.warning("alerts backtest (scope %s): %s failed: %s", scope or "company", metric.name, _first_line(exc))
        return [Reading(Outcome.FAILED, day=d, detail=_first_line(exc)) for d in dates]
    out = []
    for d in dates:
        s = found.get(spec.target)
        out.append(_flow_reading(spec, None if s is None else judge(s, d, reader.cfg.baselines.holidays), d))
        if progress is not None:
            progress(d)
    return out
