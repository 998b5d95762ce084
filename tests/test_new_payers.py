"""New payers on hand-built data; every expected number is worked out in the comments."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import new_payers
from metrics.day import ReportDay

UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
D = date(2024, 3, 14)


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def run(source, cfg, day=D, tz="UTC"):
    with source.engine.connect() as conn:
        return new_payers.compute(conn, source.src, cfg, ReportDay(day, tz))


def test_first_payment_rules(source, cfg):
    source.payments(
        (1, at(D - timedelta(days=40), 10), 100),  # user 1 paid long before D: not new on D
        (1, at(D, 9), 50),
        (2, at(D, 10), 0),  # user 2: zero amount counts nowhere ...
        (2, at(D, 11), 30),  # ... so this is user 2's first payment: new
        (3, at(D, 12), 20),  # user 3: only payments on D, two of them: one new payer, revenue 45
        (3, at(D, 13), 25),
        (4, at(D - timedelta(days=1), 12), 70),  # user 4: new on D-1, pays again on D
        (4, at(D, 14), 10),
        (5, at(D - timedelta(days=7), 8), 5),  # user 5: new on D-7
        (6, at(D - timedelta(days=1), 23, 0), 0),  # zero amount on D-1: nothing
    )
    r = run(source, cfg)
    assert (r.new_payers, r.new_payer_revenue) == (2, 75.0)  # users 2 (30) and 3 (20+25)
    assert (r.payments, r.paying_users, r.revenue) == (5, 4, 135.0)  # 50+30+20+25+10
    assert (r.previous_day.new_payers, r.previous_day.new_payer_revenue, r.previous_day.payments) == (1, 70.0, 1)
    assert (r.week_ago.new_payers, r.week_ago.revenue) == (1, 5.0)
    assert len(r.daily) == 30 and r.daily[-1].date == D and r.daily[0].date == D - timedelta(days=29)
    assert [d.new_payers for d in r.daily if d.new_payers] == [1, 1, 2]


def test_midnight_edges_in_report_timezone(source, cfg):
    # Moscow is UTC+3: 23:59:59 MSK on D-1 is 20:59:59 UTC, 00:00:00 MSK on D is 21:00 UTC on D-1.
    source.payments(
        (1, at(D - timedelta(days=1), 23, 59, 59, MSK), 10),  # D-1 in Moscow
        (2, at(D, 0, 0, 0, MSK), 20),  # D in Moscow (still D-1 in UTC)
        (3, at(D, 23, 59, 59, MSK), 30),  # D in Moscow
        (4, at(D + timedelta(days=1), 0, 0, 0, MSK), 40),  # D+1: outside
    )
    r = run(source, cfg, tz="Europe/Moscow")
    assert (r.new_payers, r.revenue) == (2, 50.0)
    assert r.previous_day.new_payers == 1
    utc = run(source, cfg, tz="UTC")  # in UTC, users 2 and 1 both paid on D-1; 3 and 4 on D
    assert (utc.new_payers, utc.revenue, utc.previous_day.new_payers) == (2, 70.0, 2)


def test_naive_timestamps_mean_data_timezone(make_source, cfg):
    source = make_source(naive=True, data_timezone="Europe/Moscow")
    source.payments(
        (1, datetime(2024, 3, 14, 0, 30), 10),  # 00:30 Moscow wall clock = 21:30 UTC on D-1
        (2, datetime(2024, 3, 14, 23, 30), 20),  # 23:30 Moscow on D
    )
    assert run(source, cfg, tz="Europe/Moscow").new_payers == 2
    r = run(source, cfg, tz="UTC")
    assert (r.new_payers, r.revenue, r.previous_day.new_payers) == (1, 20.0, 1)


def test_experiment_users_are_excluded(source, cfg):
    source.events((7, "Отправка сообщения WA", at(D - timedelta(days=100), 10)))
    source.payments((7, at(D, 10), 99), (8, at(D, 11), 1))
    r = run(source, cfg)
    assert (r.new_payers, r.revenue) == (1, 1.0)


def test_empty_day_and_empty_tables(source, cfg):
    r = run(source, cfg)
    assert (r.new_payers, r.payments, r.revenue) == (0, 0, 0.0)
    assert len(r.daily) == 30 and all(d.payments == 0 for d in r.daily)


@pytest.mark.parametrize("series_days", [1, 30])
def test_week_ago_is_known_even_with_a_short_series(source, cfg, series_days):
    import dataclasses

    cfg = dataclasses.replace(cfg, new_payers_series_days=series_days)
    source.payments((1, at(D - timedelta(days=7), 10), 5))
    r = run(source, cfg)
    assert r.week_ago.new_payers == 1 and len(r.daily) == series_days
