"""Property tests: the SQL agrees with a plain pandas reference on random small event logs.

Each example loads a fresh schema. Timestamps sit on a 15-minute grid around D so that equal
timestamps, midnight and (for Europe/Berlin on 2024-03-31) the DST jump come up often.
"""
import dataclasses
import math
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import funnel, hanging
from metrics.config import Pipeline
from metrics.day import ReportDay

NAMES = ("S", "E", "X", "ДУ завершен")  # the last one is an experiment-flow event
EXPERIMENT = "ДУ завершен"
PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

days_st = st.sampled_from([(date(2024, 3, 31), "Europe/Berlin"), (date(2024, 3, 14), "UTC"), (date(2024, 3, 14), "Europe/Moscow")])
# quarter hours from D.start; a few favourite instants make equal timestamps and edges common:
# D.start, just before it, 24 h before, T on a 23-hour day (92) and on a 24-hour day (96)
offset_st = st.one_of(st.sampled_from([0, -1, -96, -97, 4, 92, 95, 96, -192]), st.integers(-80 * 4, 30 * 4))
events_st = st.lists(st.tuples(st.integers(1, 5), st.sampled_from(NAMES), offset_st), max_size=25)
payments_st = st.lists(st.tuples(st.integers(1, 5), offset_st, st.sampled_from([0, 10])), max_size=6)


def load(make_source, day: ReportDay, events, payments) -> tuple:
    source = make_source()  # a fresh schema per example
    base = day.start.astimezone(UTC)
    ev = pd.DataFrame(
        [(u, n, base + timedelta(minutes=15 * q)) for u, n, q in events], columns=["user", "name", "ts"]
    )
    pay = pd.DataFrame([(u, base + timedelta(minutes=15 * q), a) for u, q, a in payments], columns=["user", "ts", "amount"])
    for name in NAMES:
        source.event_id(name)
    source.events(*ev.itertuples(index=False, name=None))
    source.payments(*pay.itertuples(index=False, name=None))
    excluded = set(ev.loc[ev.name == EXPERIMENT, "user"])
    return source, ev[~ev.user.isin(excluded)], pay[(pay.amount > 0) & ~pay.user.isin(excluded)]


def occurrences(ev, pay, user, name) -> pd.Series:
    return pay.loc[pay.user == user, "ts"] if name == "purchase" else ev.loc[(ev.user == user) & (ev.name == name), "ts"]


# ---- hanging --------------------------------------------------------------------------------


def hanging_reference(ev, pay, p: Pipeline, lookback_days: int, buckets, day: ReportDay) -> tuple:
    T, day_start = day.end.astimezone(UTC), day.start.astimezone(UTC)
    sla = timedelta(hours=p.sla_hours)
    starts = ev[(ev.name == p.start) & (ev.ts >= T - timedelta(days=lookback_days)) & (ev.ts < T)]
    hanging_n = within = breached = 0
    ages = []
    for user, start in starts.groupby("user").ts.max().items():
        ends = pd.concat([occurrences(ev, pay, user, e) for e in p.ends])
        if ((ends >= start) & (ends < T)).any():
            continue
        if T - start >= sla:
            hanging_n += 1
            ages.append(math.floor((T - start).total_seconds() / 86400))
        else:
            within += 1
        breached += day_start <= start + sla < T
    return hanging_n, within, breached, [sum(lo <= a <= hi for a in ages) for lo, hi in buckets]


@PROPS
@given(
    when=days_st,
    events=events_st,
    payments=payments_st,
    ends=st.sampled_from([("E",), ("E", "purchase"), ("purchase",), ("E", "X")]),
    sla=st.sampled_from([0.0, 6.0, 24.0, 30.5]),
)
def test_hanging_matches_pandas(make_source, cfg, when, events, payments, ends, sla):
    day = ReportDay(*when)
    pipeline = Pipeline("P", "S", ends, sla)
    buckets = ((0, 0), (1, 1), (2, 3))
    cfg = dataclasses.replace(
        cfg, hanging=dataclasses.replace(cfg.hanging, lookback_days=3, pipelines=(pipeline,), age_buckets=buckets)
    )
    source, ev, pay = load(make_source, day, events, payments)
    with source.engine.connect() as conn:
        (got,) = hanging.compute(conn, source.src, cfg, day).pipelines
    expected = hanging_reference(ev, pay, pipeline, 3, buckets, day)
    assert (got.hanging, got.open_within_sla, got.breached_today, [b.users for b in got.age_buckets]) == expected


# ---- funnel ---------------------------------------------------------------------------------


def funnel_reference(ev, pay, steps, cohort_days: int, conversion_days: int, day: ReportDay,
                     cohort: str = "first") -> dict:
    T = day.end.astimezone(UTC)
    cohort_start = day.midnight(day.day - timedelta(days=cohort_days - 1)).astimezone(UTC)
    out = {}
    for user in sorted(set(ev.user) | set(pay.user)):
        first = occurrences(ev, pay, user, steps[0])
        if cohort == "window":  # any step 1 in the window; t1 is the first of them
            first = first[(first >= cohort_start) & (first < T)]
        if first.empty or not cohort_start <= first.min() < T:
            continue
        t1 = first.min()
        reached: list[datetime | None] = [t1]
        for step in steps[1:]:
            prev = reached[-1]
            times = occurrences(ev, pay, user, step)
            times = times[(times >= prev) & (times < min(t1 + timedelta(days=conversion_days), T))] if prev else times[:0]
            reached.append(times.min() if not times.empty else None)
        out[int(user)] = tuple(None if t is None else t.to_pydatetime() for t in reached)
    return out


def summary_reference(steps, reached: dict) -> list[tuple]:
    df = pd.DataFrame([[None if t is None else (t - r[0]).total_seconds() / 3600 for t in r] for r in reached.values()], columns=range(len(steps)), dtype=float)
    rows, prev = [], len(df)
    for k in range(len(steps)):
        n = int(df[k].notna().sum()) if len(df) else 0
        rows.append((n, round(n / len(df), 4) if len(df) else None, round(n / prev, 4) if prev else None, round(df[k].median(), 2) if n else None))
        prev = n
    return rows


@PROPS
@given(
    when=days_st,
    events=events_st,
    payments=payments_st,
    steps=st.sampled_from([("S", "E", "purchase"), ("S", "S", "E"), ("purchase", "S"), ("S", "X", "E", "X")]),
    conversion_days=st.sampled_from([1, 2]),
    cohort=st.sampled_from(["first", "window"]),
)
def test_funnel_matches_pandas(make_source, cfg, when, events, payments, steps, conversion_days, cohort):
    day = ReportDay(*when)
    cfg = dataclasses.replace(
        cfg, funnel=dataclasses.replace(cfg.funnel, steps=steps, cohort_days=2, conversion_days=conversion_days,
                                        cohort=cohort)
    )
    source, ev, pay = load(make_source, day, events, payments)
    with source.engine.connect() as conn:
        reach = funnel.cohort_reach(conn, source.src, cfg, day)
    expected = funnel_reference(ev, pay, steps, 2, conversion_days, day, cohort)
    got = {u: tuple(None if t is None else t.astimezone(UTC) for t in r) for u, r in reach.users.items()}
    assert got == expected
    table = [(s.users, s.conversion_from_start, s.conversion_from_previous, s.median_hours_from_start) for s in funnel.summarize(steps, reach.users.values())]
    assert table == summary_reference(steps, expected)
