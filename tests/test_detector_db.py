"""Section 12's new series on hand-built Postgres data, every number worked out by hand: the funnel
steps' daily conversions, the pipelines' close rates, the money numbers' slices by channel and
owner, the store of finished days, and the detector end to end across a DST week and a holiday."""
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from metrics import hanging
from metrics.baselines.slices import as_slices, payer_slices
from metrics.baselines.store import store_key
from metrics.day import ReportDay
from metrics.funnel import series as baseline_funnel
from metrics.sessions.store import ensure_days
from reports.baselines import checked as daily_baselines
from tests.conftest import checked_series

UTC = ZoneInfo("UTC")
D = date(2024, 3, 14)  # a Thursday
S2, E2 = "Назначена задача на вторую линию", "Дозвон 2Л"  # "Second line", SLA 24 h
WA = "Отправка сообщения WA"  # an experiment-flow event


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def two_steps(cfg, hours=48):
    return replace(cfg, funnel=replace(cfg.funnel, steps=("A", "B", "purchase")),
                   baselines=replace(cfg.baselines, conversion_hours=hours))


def test_a_steps_daily_conversion_counts_the_users_whose_window_closes_that_day(source, cfg):
    cfg2 = two_steps(cfg)
    source.events(
        (1, "A", at(D - days(2), 10)), (1, "B", at(D - days(1), 9)),  # closes D 10:00: converted
        (2, "A", at(D - days(2), 11)),                                # closes D: not converted
        (3, "A", at(D - days(2), 12)), (3, "B", at(D, 12)),           # B at exactly t + 48 h: converted
        (4, "A", at(D - days(2), 13)), (4, "B", at(D, 13, 0, 1)),     # one second late: not
        (5, "A", at(D - days(2), 8)), (5, "A", at(D - days(2), 20)),  # twice, closing on D: one user,
        (5, "B", at(D - days(1), 21)),                                # from the earlier: converted
        (6, "A", at(D - days(3), 23)), (6, "B", at(D - days(2), 10)),  # closes D-1 23:00: D-1's
        (7, "A", at(D - days(2), 9)), (7, "B", at(D - days(2), 10)), (7, WA, at(D - days(30), 9)),  # experiment
        (8, "B", at(D - days(2), 9)), (8, "A", at(D - days(2), 10)),  # B before A: not converted
    )
    # purchase after B: 6's B (D-2 10:00) closes on D, paid D-1; 8's B (D-2 09:00) closes on D, a
    # zero payment is no purchase
    source.payments((6, at(D - days(1), 8), 100), (8, at(D - days(1), 8), 0))
    with source.engine.connect() as conn:
        got = {s.key: s for s in baseline_funnel.series(conn, source.src, cfg2, ReportDay(D), None, back=3)}
    b, buy = got["B"], got["purchase"]
    assert (b.metric, b.field) == ("funnel", "step_conversion")
    # D: due 1 2 3 4 5 8 (7 is an experiment user; 8's B came before its A), converted 1 3 5
    assert (b.denominators[D], b.numerators[D], b.values[D]) == (6, 3, 0.5)
    assert (b.denominators[D - days(1)], b.numerators[D - days(1)]) == (1, 1)  # user 6
    assert (buy.denominators[D], buy.numerators[D], buy.values[D]) == (2, 1, 0.5)
    assert D - days(2) not in b.denominators  # nothing closed on D-2
    assert b.first_day == D - days(30) + days(2)  # the first event's day + 48 h
    # a 24-hour window: 1 (B 23 h after A) converts, 5's B (37 h after 08:00) does not
    with source.engine.connect() as conn:
        short = {s.key: s for s in baseline_funnel.series(conn, source.src, two_steps(cfg, 24),
                                                                ReportDay(D), None, back=3)}
    # closing on D-1 now: 1 2 3 4 5 8 (their A on D-2); converted only 1: 5's B comes 37 h after
    # its earliest A (the one counted), 3's and 4's on D, 8's before its A
    assert (short["B"].denominators[D - days(1)], short["B"].numerators[D - days(1)]) == (6, 1)


def test_a_pipelines_close_rate_is_the_share_of_its_due_processes_not_hanging_at_the_days_end(source, cfg):
    source.events(
        (9, E2, at(D - days(40), 9)),                                   # the data begin
        (1, S2, at(D - days(1), 10)),                                   # due D 10:00, open: breached
        (2, S2, at(D - days(1), 11)), (2, E2, at(D, 9)),                 # closed in time
        (3, S2, at(D - days(1), 12)), (3, E2, at(D, 13)),                # late, but closed by D's end
        (4, S2, at(D - days(1), 8)), (4, S2, at(D - days(1), 20)),       # restarted: one process, due
        (5, S2, at(D - days(2), 10)), (5, E2, at(D - days(1), 9)),       # D 20:00, open: breached
    )                                                                    # 5: due D-1, closed
    with source.engine.connect() as conn:
        s = {(x.key, x.field): x for x in checked_series(conn, source.src, cfg, ReportDay(D), metrics=("hanging",))}
        metric = {p.name: p.breached_today for p in hanging.compute(conn, source.src, cfg, ReportDay(D)).pipelines}
    breached, rate = s["Second line", "breached_today"], s["Second line", "close_rate"]
    assert breached.values[D] == 2 == metric["Second line"]  # users 1 and 4, as the metric counts them
    assert (rate.denominators[D], rate.numerators[D], rate.values[D]) == (4, 2, 0.5)
    assert (rate.denominators[D - days(1)], rate.numerators[D - days(1)], rate.values[D - days(1)]) == (1, 1, 1.0)
    assert rate.value(D - days(3)) is None  # nothing due: a rate of nothing


def web(source, *rows):
    """(user_id, happened_at, utm_source, utm_medium) page views."""
    source.insert("web_events", [{"user_id": u, "anonymous_id": f"dev{u}", "happened_at": t,
                                  "utm_source": s, "utm_medium": m} for u, t, s, m in rows])


def test_money_slices_by_channel_and_owner(source, cfg, state):
    web(source,
        (1, at(D, 9), "google", "cpc"),                  # Paid Search
        (2, at(D - days(1), 9), None, None),             # Direct, then
        (2, at(D, 8), "facebook", "cpc"),                # Paid Social: the last non-Direct one
        (4, at(D, 7), None, None))                       # Direct only
    source.payments((1, at(D, 10), 100),                 # new payer
                    (2, at(D - days(10), 10), 70), (2, at(D, 12), 50),
                    (3, at(D, 11), 30),                  # new, no session at all
                    (4, at(D - days(5), 10), 10), (4, at(D, 9), 20))
    source.tags((1, "manager:ivanov"), (2, "manager:popov"), (2, "team:north"), (3, "vip"))
    with source.engine.begin() as conn:
        ensure_days(conn, source.src, cfg.attribution, "UTC", [D - days(1), D])
        got = as_slices(payer_slices(conn, source.src, cfg, ReportDay(D), None, back=12))
    on_d = {f: {(x.dimension, x.key): x.values.get(D, 0.0) for x in got[f]} for f in got}
    assert on_d["payments"] == {("channel", "Paid Search"): 1, ("channel", "Paid Social"): 1, ("channel", "(none)"): 1,
                                ("channel", "Direct"): 1, ("owner", "manager:ivanov"): 1,
                                ("owner", "manager:popov"): 1, ("owner", "(no owner)"): 2}
    assert on_d["revenue"][("channel", "Paid Social")] == 50 and on_d["revenue"][("owner", "(no owner)")] == 50
    assert {k: v for k, v in on_d["new_payers"].items() if v} == {
        ("channel", "Paid Search"): 1, ("channel", "(none)"): 1, ("owner", "manager:ivanov"): 1,
        ("owner", "(no owner)"): 1}
    assert on_d["new_payer_revenue"][("channel", "(none)")] == 30
    # channels only on the days the session store has built; owners on every day
    paid_search = next(x for x in got["payments"] if x.key == "Paid Search")
    assert paid_search.known == frozenset({D - days(1), D})
    assert next(x for x in got["payments"] if x.key == "(no owner)").known is None
    # D-10's payment (user 2, the store lacks that day): an owner, no channel
    assert on_d and next(x for x in got["revenue"] if x.key == "manager:popov").values[D - days(10)] == 70
    assert all(D - days(10) not in x.values for x in got["revenue"] if x.dimension == "channel")


def daily_payers(source, first: date, last: date, n=10, tz=UTC, skip=()):
    """n payers a day (all new), at 00:30 and 23:30 local time alternately, except on `skip`."""
    rows, uid, d = [], 0, first
    while d <= last:
        if d not in skip:
            for i in range(n):
                uid += 1
                rows.append((uid, at(d, 0, 30, tz=tz) if i % 2 else at(d, 23, 30, tz=tz), 10))
        d += days(1)
    source.payments(*rows)
    return uid


def test_the_detector_across_a_dst_week_and_a_holiday(source, cfg, state):
    ber = ZoneInfo("Europe/Berlin")
    dd = date(2024, 4, 4)  # Berlin springs forward on Sunday 03-31: D-7 lies in the DST week
    holiday = dd - days(14)
    daily_payers(source, dd - days(90), dd, tz=ber, skip={holiday})  # closed on the holiday
    cfg2 = replace(cfg, baselines=replace(cfg.baselines, holidays=(holiday,)))
    with source.engine.begin() as conn:
        b = {x.target: x for x in daily_baselines(conn, source.src, cfg2, ReportDay(dd, "Europe/Berlin"),
                                                  metrics=("new_payers",))}
        s = next(x for x in checked_series(conn, source.src, cfg2, ReportDay(dd, "Europe/Berlin"),
                                                   metrics=("new_payers",)) if x.field == "new_payers")
    # every local day holds its 10, the 23-hour Sunday too; the holiday 0
    assert {s.value(dd - days(k)) for k in range(60) if dd - days(k) != holiday} == {10.0}
    assert s.value(holiday) == 0
    # the holiday is left out: 10 every day, no verdict on D's 10; the band is Poisson(10)'s
    np_ = b["new_payers"]
    assert np_.expected == pytest.approx(10, abs=0.01) and np_.direction is None and np_.low <= 3
    # revenue: 10 payments a day make a band of its own (exactly 100 a day: no spread but the fit's)
    assert b["revenue"].expected == pytest.approx(100, abs=0.1) and b["revenue"].direction is None
    # without the holiday in the configuration its 0 is history and pulls the level down a little:
    # 3.2 Poisson standard deviations out, Tukey's biweight keeps 30% of its weight
    with source.engine.begin() as conn:
        plain = {x.target: x for x in daily_baselines(conn, source.src, cfg, ReportDay(dd, "Europe/Berlin"),
                                                      metrics=("new_payers",))}
    assert plain["new_payers"].expected == pytest.approx(9.6, abs=0.1)
    # the holiday itself: no verdict
    with source.engine.begin() as conn:
        h = {x.target: x for x in daily_baselines(conn, source.src, cfg2, ReportDay(holiday, "Europe/Berlin"),
                                                  metrics=("new_payers",))}
    assert (h["new_payers"].value, h["new_payers"].expected, h["new_payers"].direction) == (0.0, None, None)


def test_finished_days_are_kept_and_read_back(source, cfg, state, engine):
    last = daily_payers(source, D - days(90), D)
    table = f'"{state}".baseline_days'
    with source.engine.begin() as conn:
        first = daily_baselines(conn, source.src, cfg, ReportDay(D), metrics=("new_payers",))
        kept = conn.execute(sa.text(f"select min(day), max(day), count(*) from {table} where metric = 'new_payers'")
                            ).one()
    # D-84 ... D-3 kept (the last 3 days are computed afresh every time)
    assert kept == (D - days(84), D - days(3), 82)
    with source.engine.begin() as conn:
        again = daily_baselines(conn, source.src, cfg, ReportDay(D), metrics=("new_payers",))
    assert [b.to_json() for b in again] == [b.to_json() for b in first]
    # a payment added on a kept day (a late row: a higher id) is read again, as on a recent day
    # (tests/test_baselines_late.py works the rule out)
    source.payments((last + 1, at(D - days(20), 12), 10), (last + 2, at(D - days(2), 12), 10))
    with source.engine.begin() as conn:
        s = {x.field: x for x in checked_series(conn, source.src, cfg, ReportDay(D), metrics=("new_payers",))}
        from metrics.baselines.store import stored_series

        st = {x.field: x for x in stored_series(
            conn, source.src, cfg, ReportDay(D), None,
            {"new_payers": lambda back: checked_series(conn, source.src, cfg, ReportDay(D), None, ("new_payers",),
                                                       back)})}
    assert (s["new_payers"].value(D - days(20)), st["new_payers"].value(D - days(20))) == (11, 11)
    assert s["new_payers"].value(D - days(2)) == st["new_payers"].value(D - days(2)) == 11
    # another configuration is another store: nothing of this one is read
    other = replace(cfg, baselines=replace(cfg.baselines, conversion_hours=24))
    assert store_key(source.src, other, "UTC", None) != store_key(source.src, cfg, "UTC", None)
    assert store_key(source.src, cfg, "UTC", None).startswith(f"{source.schema}|UTC||")
