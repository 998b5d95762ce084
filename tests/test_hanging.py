"""Hanging processes on hand-built data; every expected number is worked out in the comments.

Default config: SLA 24 h, lookback 30 days, age buckets 1-2, 3-7, 8-30 (whole days since start).
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from metrics import hanging
from metrics.day import ReportDay

UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
BER = ZoneInfo("Europe/Berlin")
D = date(2024, 3, 14)  # UTC report: D.start = 03-14 00:00, T = 03-15 00:00
S2, E2 = "Назначена задача на вторую линию", "Дозвон 2Л"  # "Second line": S2 -> E2
SV = "Успешный ВУ"  # "Intro-lesson payment": SV -> purchase or S2


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def run(source, cfg, day=D, tz="UTC") -> dict[str, hanging.PipelineStatus]:
    with source.engine.connect() as conn:
        r = hanging.compute(conn, source.src, cfg, ReportDay(day, tz))
    assert r.report_date == day and r.lookback_days == 30
    return {p.name: p for p in r.pipelines}


def counts(p: hanging.PipelineStatus) -> tuple:
    return p.hanging, p.open_within_sla, p.breached_today, [b.users for b in p.age_buckets]


def test_second_line_hand_worked(source, cfg):
    source.events(
        (1, S2, at(D - days(2), 10)),  # open, age 2d14h: hanging, bucket 1-2; deadline D-1: not today
        (2, S2, at(D, 10)),  # age 14 h: open within SLA
        (3, S2, at(D - days(1), 10)),  # age 38 h: hanging, deadline D 10:00: breached today, bucket 1-2
        (4, S2, at(D - days(3), 9)),  # an end at exactly the start instant closes it
        (4, E2, at(D - days(3), 9)),
        (5, E2, at(D - days(5), 10)),  # an end BEFORE the start does not close it:
        (5, S2, at(D - days(4), 10)),  # hanging, age 4d14h -> bucket 3-7, not breached today
        (6, S2, at(D - days(10), 10)),  # restart: the first process was closed ...
        (6, E2, at(D - days(9), 10)),
        (6, S2, at(D - days(1), 12)),  # ... the latest start counts: age 36 h, hanging, breached D 12:00
        (7, S2, at(D - days(1), 20)),  # the end comes after T: still open at T;
        (7, E2, at(D + days(1), 1)),  # age 28 h hanging, breached D 20:00, bucket 1-2
        (8, S2, at(D - days(40), 10)),  # outside the 30-day lookback: not counted
        (9, S2, at(D - days(20), 10)),  # hanging, age 20 d -> bucket 8-30
        (10, S2, at(D - days(2), 10)),  # experiment-flow user: excluded
        (10, "Отправка сообщения WA", at(D - days(60), 10)),
        (11, S2, at(D + days(1), 0)),  # at T exactly: after the cutoff
        (12, S2, at(D, 0)),  # age exactly 24 h: hanging (>=); deadline = T is not "during D"; bucket 1-2
        (13, S2, at(D, 0, 0, 1)),  # age 24 h - 1 s: within SLA
    )
    r = run(source, cfg)
    # hanging 1,3,5,6,7,9,12; within 2,13; breached 3,6,7; buckets 1-2: 1,3,6,7,12; 3-7: 5; 8-30: 9
    assert counts(r["Second line"]) == (7, 2, 3, [5, 1, 1])
    assert [b.label for b in r["Second line"].age_buckets] == ["1-2", "3-7", "8-30"]
    assert r["Second line"].start_event == S2 and r["Second line"].sla_hours == 24.0
    # S2 is an END of "Intro-lesson payment" but nobody started that pipeline
    assert counts(r["Intro-lesson payment"]) == (0, 0, 0, [0, 0, 0])


def test_purchase_ends(source, cfg):
    source.events(
        (20, SV, at(D - days(2), 10)),  # a zero-amount payment is no purchase: hanging
        (21, SV, at(D - days(2), 10)),  # a payment at the same instant closes it
        (22, SV, at(D - days(2), 10)),  # a payment before the start does not close it: hanging
        (23, SV, at(D - days(2), 10)),  # the other end event closes it
        (23, S2, at(D - days(1), 10)),
        (24, SV, at(D, 5)),  # open within SLA; its payment comes after T
    )
    source.payments(
        (20, at(D - days(1), 10), 0),
        (21, at(D - days(2), 10), 100),
        (22, at(D - days(3), 10), 50),
        (24, at(D + days(1), 0), 10),
    )
    r = run(source, cfg)
    # hanging 20 and 22 (age 2d14h, bucket 1-2, deadlines on D-1: not today); within SLA: 24
    assert counts(r["Intro-lesson payment"]) == (2, 1, 0, [2, 0, 0])
    # user 23's S2 starts a second-line process: age 38 h, hanging, breached on D
    assert counts(r["Second line"]) == (1, 0, 1, [1, 0, 0])


def test_midnight_edges_in_report_timezone(source, cfg):
    source.events(
        (1, S2, at(D, 23, 59, 59, MSK)),  # on D in Moscow: age 1 s, within SLA
        (2, S2, at(D + days(1), 0, 0, 0, MSK)),  # T in Moscow: after the cutoff
        (3, S2, at(D - days(1), 23, 59, 59, MSK)),  # age 24 h + 1 s: hanging, deadline on D: breached
    )
    assert counts(run(source, cfg, tz="Europe/Moscow")["Second line"]) == (1, 1, 1, [1, 0, 0])
    # In UTC (T = 03-15 00:00 UTC) user 1 started 20:59:59, user 2 21:00 on D: both within SLA;
    # user 3 at 03-13 20:59:59: age 27 h, hanging, deadline 03-14 20:59:59: breached.
    assert counts(run(source, cfg, tz="UTC")["Second line"]) == (1, 2, 1, [1, 0, 0])


def test_dst_spring_forward_day_is_23_hours(source, cfg):
    day = date(2024, 3, 31)  # Berlin: D.start = 03-30 23:00 UTC, T = 03-31 22:00 UTC (23 h)
    source.events(
        (1, S2, at(day, 0, 0, 0, BER)),  # D.start: age 23 h < SLA: within (wall clock would say 24 h)
        (2, S2, at(day - days(1), 23, 0, 0, BER)),  # 22:00 UTC: age exactly 24 h: hanging, deadline T: not today
        (3, S2, at(day - days(1), 22, 30, 0, BER)),  # age 24.5 h: hanging, deadline 21:30 UTC on D: breached
        (4, S2, at(day - days(2), 23, 30, 0, BER)),  # deadline 03-30 22:30 UTC < D.start: hanging, not today
        (5, S2, datetime(2024, 3, 29, 23, 0, tzinfo=UTC)),  # deadline exactly D.start: breached; age 47 h
    )
    # hanging 2,3,4,5 (ages 24 h, 24.5 h, 47.5 h, 47 h: all whole-day 1); within 1; breached 3,5
    assert counts(run(source, cfg, day=day, tz="Europe/Berlin")["Second line"]) == (4, 1, 2, [4, 0, 0])


def test_naive_timestamps_mean_data_timezone(make_source, cfg):
    source = make_source(naive=True, data_timezone="Europe/Moscow")
    source.events(
        (1, S2, datetime(2024, 3, 14, 0, 30)),  # 00:30 Moscow on D: age 23.5 h, within SLA
        (2, S2, datetime(2024, 3, 13, 0, 30)),  # age 47.5 h: hanging, deadline 03-14 00:30: breached
    )
    assert counts(run(source, cfg, tz="Europe/Moscow")["Second line"]) == (1, 1, 1, [1, 0, 0])


def test_empty_day_and_unknown_events(source, cfg):
    r = run(source, cfg)  # no events_dict rows at all: every pipeline reports zeros
    assert list(r) == ["Open requests", "First line", "Second line", "Intro-lesson payment"]
    assert all(counts(p) == (0, 0, 0, [0, 0, 0]) for p in r.values())
    source.events((1, "Создание заявки", at(D - days(100), 10)))  # history, but nothing in the window
    assert counts(run(source, cfg)["Open requests"]) == (0, 0, 0, [0, 0, 0])


def test_open_requests_any_end_closes(source, cfg):
    source.events(
        (1, "Создание заявки", at(D - days(3), 10)),  # closed by a first-line task
        (1, "Назначение задачи на звонок 1Л", at(D - days(3), 11)),
        (2, "Создание заявки", at(D - days(3), 10)),  # closed by an intro-lesson event
        (2, "Назначение ВУ", at(D - days(2), 11)),
        (3, "Создание заявки", at(D - days(3), 10)),  # a non-end event does not close: hanging, 3-7
        (3, "Отказ", at(D - days(2), 11)),
    )
    r = run(source, cfg)
    assert counts(r["Open requests"]) == (1, 0, 0, [0, 1, 0])
    # user 1's first-line task is itself open (age 3d13h): hanging in "First line", bucket 3-7
    assert counts(r["First line"]) == (1, 0, 0, [0, 1, 0])
