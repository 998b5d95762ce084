"""The conversion funnel on hand-built data; every expected number is worked out in the comments."""
import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import funnel
from metrics.day import ReportDay

UTC = ZoneInfo("UTC")
BER = ZoneInfo("Europe/Berlin")
D = date(2024, 3, 14)  # UTC; cohort window (7 days) = [03-08 00:00, 03-15 00:00)
A, B, C = "Создание заявки", "Назначение задачи на звонок 1Л", "Ученик ответил на звонок оператора 1л"
STEPS = (A, B, C, "purchase")


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def march(day: int, h: int = 0, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return at(date(2024, 3, day), h, m, s, tz)


@pytest.fixture
def fcfg(cfg):
    return dataclasses.replace(cfg, funnel=dataclasses.replace(cfg.funnel, steps=STEPS, clusters=2))


def run(source, cfg, day=D, tz="UTC", **kw) -> funnel.FunnelResult:
    with source.engine.connect() as conn:
        return funnel.compute(conn, source.src, cfg, ReportDay(day, tz), **kw)


def table(r) -> list[tuple]:
    return [
        (s.users, s.conversion_from_start, s.conversion_from_previous, s.median_hours_from_start) for s in r.steps
    ]


def load_main_case(source):
    source.events(
        (1, A, march(10, 10)), (1, B, march(10, 12)), (1, C, march(11, 10)),  # all steps: 0, 2, 24 h ...
        (2, B, march(9, 7)),  # before user 2's step 1: does not count
        (2, A, march(9, 8)), (2, A, march(10, 8)),  # repeated step 1: t1 = 03-09 08:00
        (2, C, march(10, 7)),  # after t1 but before B was reached: does not count
        (2, B, march(10, 8)),  # B at 24 h; no C afterwards
        (3, A, march(1, 10)), (3, A, march(10, 10)), (3, B, march(10, 11)),  # first-ever A before the window
        (4, A, march(12, 10)), (4, B, march(12, 10)), (4, C, march(12, 10)),  # equal timestamps: all at 0 h
        (5, A, march(8, 0)),  # exactly at the window start: in the cohort
        (5, B, march(14, 12)),  # B at 156 h
        (5, C, march(15, 0)),  # C at T: after the cutoff
        (6, A, march(7, 23, 59, 59)),  # first-ever A one second before the window: not in the cohort
        (7, A, march(10, 10)), (7, B, march(10, 11)),  # experiment-flow user: excluded
        (7, "ДУ завершен", march(11, 10)),
        (8, A, march(13, 10)),  # pays without B and C: purchase is not reached
        (9, B, march(10, 10)), (9, C, march(10, 11)),  # no step 1 at all: not in the cohort
    )
    source.payments(
        (1, march(12, 10), 100),  # ... and purchase at 48 h
        (4, march(12, 11), 0),  # zero amount: no purchase
        (8, march(13, 11), 100),
    )


def test_steps_hand_worked(source, fcfg):
    load_main_case(source)
    r = run(source, fcfg)
    assert (r.cohort_start, r.cohort_end, r.conversion_days, r.cohort_users) == (date(2024, 3, 8), D, 14, 5)
    assert [s.event for s in r.steps] == list(STEPS)
    assert table(r) == [
        (5, 1.0, 1.0, 0.0),  # cohort: users 1, 2, 4, 5, 8
        (4, 0.8, 0.8, 13.0),  # B: 1 (2 h), 2 (24 h), 4 (0 h), 5 (156 h): median of 0, 2, 24, 156 = 13
        (2, 0.4, 0.5, 12.0),  # C: 1 (24 h), 4 (0 h)
        (1, 0.2, 0.5, 48.0),  # purchase: 1 (48 h)
    ]


def test_cluster_segments(source, fcfg):
    load_main_case(source)
    r = run(source, fcfg)
    segments = [s for s in r.segments if s.kind == "cluster"]
    assert 1 <= len(segments) <= 2 and r.clustered_users == 5
    assert sum(s.users for s in segments) == 5  # every cohort user in exactly one segment
    assert len({s.name for s in segments}) == len(segments)  # labels are unique
    assert all(s.steps[0].users == s.users and len(s.steps) == 4 for s in segments)
    # step counts of the segments add up to the whole funnel's
    assert [sum(s.steps[k].users for s in segments) for k in range(4)] == [5, 4, 2, 1]
    assert run(source, fcfg).segments == r.segments  # fixed seed: the same data, the same clusters


def test_cluster_sample_is_bounded(source, fcfg):
    load_main_case(source)
    small = dataclasses.replace(fcfg, funnel=dataclasses.replace(fcfg.funnel, max_cluster_users=3))
    object.__setattr__(small.funnel, "max_cluster_users", 3)  # below the config loader's minimum
    r = run(source, small)
    assert r.clustered_users == 3 and sum(s.users for s in r.segments) == 3
    assert table(r)[0][0] == 5  # the steps still cover the whole cohort


def test_channel_hook(source, fcfg):
    load_main_case(source)
    r = run(source, fcfg, channels=lambda reach: {1: "Email", 4: "Email", 5: "Direct"})
    channels = {s.name: (s.users, [st.users for st in s.steps]) for s in r.segments if s.kind == "channel"}
    # Email: users 1 (all steps) and 4 (A, B, C); Direct: 5 (A, B); unknown: 2 (A, B) and 8 (A)
    assert channels == {"Email": (2, [2, 2, 2, 1]), "Unattributed": (2, [2, 1, 0, 0]), "Direct": (1, [1, 1, 0, 0])}


def test_step_after_conversion_window(source, fcfg):
    cfg = dataclasses.replace(fcfg, funnel=dataclasses.replace(fcfg.funnel, conversion_days=1))
    source.events(
        (10, A, march(10, 10)), (10, B, march(11, 9, 59, 59)),  # B 1 s inside the 24 h window
        (10, C, march(11, 10)),  # exactly t1 + 24 h: outside (half-open)
        (11, A, march(10, 10)), (11, B, march(11, 11)),  # B after the window
    )
    assert table(run(source, cfg)) == [
        (2, 1.0, 1.0, 0.0),
        (1, 0.5, 0.5, 24.0),  # 23:59:59 = 23.9997 h -> 24.0 at 2 places
        (0, 0.0, 0.0, None),
        (0, 0.0, None, None),  # no one reached the previous step: no ratio
    ]


def test_midnight_and_dst_in_berlin(source, fcfg):
    day = date(2024, 3, 31)  # 23-hour day: [03-30 23:00 UTC, 03-31 22:00 UTC)
    cfg = dataclasses.replace(fcfg, funnel=dataclasses.replace(fcfg.funnel, cohort_days=1))
    source.events(
        (1, A, at(date(2024, 3, 30), 23, 59, 59, BER)),  # the day before in Berlin: out
        (2, A, at(day, 0, 0, 0, BER)),  # midnight CET: in;
        (2, B, at(day, 3, 30, 0, BER)),  # 03:30 CEST = 01:30 UTC: 2.5 h later, not 3.5 (02:00 -> 03:00 jump)
        (3, A, at(day, 23, 59, 59, BER)),  # last second of D: in;
        (3, B, at(date(2024, 4, 1), 0, 0, 0, BER)),  # B at T: not reached
        (4, A, at(date(2024, 4, 1), 0, 0, 0, BER)),  # the next day: out
    )
    r = run(source, cfg, day=day, tz="Europe/Berlin")
    assert r.cohort_start == day
    assert table(r)[:2] == [(2, 1.0, 1.0, 0.0), (1, 0.5, 0.5, 2.5)]


def test_naive_timestamps(make_source, fcfg):
    source = make_source(naive=True, data_timezone="Europe/Moscow")
    source.events((1, A, datetime(2024, 3, 14, 0, 30)), (1, B, datetime(2024, 3, 14, 2, 0)))  # Moscow wall clock
    assert table(run(source, fcfg, tz="Europe/Moscow"))[:2] == [(1, 1.0, 1.0, 0.0), (1, 1.0, 1.0, 1.5)]
    # in UTC, 00:30 Moscow on 03-14 is 21:30 UTC on 03-13: still inside the 7-day window
    assert table(run(source, fcfg, tz="UTC"))[0][0] == 1


def test_empty_day_and_unknown_steps(source, fcfg):
    r = run(source, fcfg)
    assert r.cohort_users == 0 and r.segments == []
    assert table(r) == [(0, None, None, None)] * 4
    source.events((1, "Отказ", march(10, 10)))  # events of other names only
    assert run(source, fcfg).steps == r.steps


def test_summarize_and_channel_segments_are_pure():
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    reach = funnel.CohortReach(("a", "b"), {1: (t0, t0 + timedelta(hours=3)), 2: (t0, None), 3: (t0, t0 + timedelta(hours=1))})
    steps = funnel.summarize(reach.steps, reach.users.values())
    assert [(s.users, s.conversion_from_start, s.median_hours_from_start) for s in steps] == [(3, 1.0, 0.0), (2, 0.6667, 2.0)]
    segs = funnel.channel_segments(reach, {1: "Paid Search", 2: "Paid Search"})
    assert [(s.kind, s.name, s.users, s.steps[1].users) for s in segs] == [
        ("channel", "Paid Search", 2, 1),
        ("channel", "Unattributed", 1, 1),
    ]
