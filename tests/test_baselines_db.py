"""Baselines over real Postgres: hand-built series with worked-out bands, and the daily series
checked day by day against the metrics that report each day (time zone with a DST week, scope).

The worked-out bands here are section 8's detector (metrics.baselines.section8_baselines, kept
as the benchmark's "today's"); section 12's on the same SQL: tests/test_detector_db.py."""
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from db.seed import seed
from db.source import inspect_source
from db.state import migrate
from metrics import attribution, campaigns, hanging, new_payers
from metrics.baselines import anomalies
from metrics.baselines.days import weekdays_of
from metrics.baselines.section8 import SECTION8
from metrics.day import ReportDay
from metrics.scope import Scope
from metrics.sessions.store import ensure_days
from reports.baselines import section8 as section8_baselines
from tests.conftest import checked_series

UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
D = date(2024, 3, 14)  # a Thursday
S2, E2 = "Назначена задача на вторую линию", "Дозвон 2Л"  # "Second line", SLA 24 h
SV = "Успешный ВУ"  # "Intro-lesson payment": SV -> purchase or S2
WA = "Отправка сообщения WA"  # an experiment-flow event


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def baselines(source, cfg, day=D, tz="UTC", scope=None, metrics=None):
    with source.engine.begin() as conn:
        out = section8_baselines(conn, source.src, cfg, ReportDay(day, tz), scope, metrics)
    return {b.target: b for b in out}


# history of new payers on the 8 Thursdays before D, D-7 first
WEEKLY = [18, 20, 22, 20, 19, 21, 20, 20]


def weekly_payers(source, tz=MSK):
    uid = 0
    for k, n in enumerate(WEEKLY, start=1):
        for _ in range(n):
            uid += 1
            # 00:30 Moscow is 21:30 UTC the day before: the local day decides
            source.payments((uid, at(D - days(7 * k), 0, 30, tz=tz), 10))
    return uid


def test_a_day_without_payments_is_low(source, cfg):
    last = weekly_payers(source)
    # 00:30 Moscow on D+1 is 21:30 UTC on D: in a Moscow report D stays empty
    source.payments((last + 1, at(D + days(1), 0, 30, tz=MSK), 10))
    b = baselines(source, cfg, tz="Europe/Moscow", metrics=("new_payers",))
    # 18 20 22 20 19 21 20 20: median 20, MAD 0.5 -> spread 0.7413 < sqrt(20) = 4.4721 -> half 13.4164
    item = b["new_payers"].to_json()
    assert dict(list(item.items())[:8]) == {"metric": "new_payers", "key": None, "field": "new_payers",
                                            "value": 0.0, "expected": 20.0, "low": 6.5836, "high": 33.4164,
                                            "direction": "low"}
    assert dict(list(item.items())[8:]) == {"since": None, "drivers": [], "window": None}  # section 12's keys
    # revenue 10 x: median 200, MAD 5 -> spread 7.413 < sqrt(200) = 14.1421 -> half 42.4264
    r = b["revenue"]
    assert (r.value, r.expected, r.low, r.high, r.direction) == (0.0, 200.0, 157.5736, 242.4264, "low")
    assert b["payments"].direction == "low" and b["new_payer_revenue"].direction == "low"
    assert set(b) == {"new_payers", "new_payer_revenue", "revenue", "payments"}
    # in UTC every history payment lies on a Wednesday and the late one on D: 1 new payer, and
    # the Thursdays before hold none -> band 0..3, no verdict
    u = baselines(source, cfg, tz="UTC", metrics=("new_payers",))["new_payers"]
    assert (u.value, u.expected, u.low, u.high, u.direction) == (1.0, 0.0, 0.0, 3.0, None)


def test_data_beginning_three_weeks_ago_gives_no_verdict(source, cfg):
    # only the last three Thursdays have payments, and nothing before them
    for k in (1, 2, 3):
        source.payments(*[(100 * k + i, at(D - days(7 * k), 12), 10) for i in range(20)])
    b = baselines(source, cfg, metrics=("new_payers",))["new_payers"]
    assert (b.value, b.expected, b.low, b.high, b.direction) == (0.0, None, None, None, None)
    assert anomalies([b]) == []
    # one payment 4 weeks + 1 day back moves the data's beginning: 4 weeks, 20 20 20 0 -> median
    # 20, MAD 0, half 3 sqrt(20) = 13.4164 -> low 6.5836 -> D's 0 is low
    source.payments((999, at(D - days(29), 12), 10))
    b = baselines(source, cfg, metrics=("new_payers",))["new_payers"]
    assert (b.expected, b.low, b.direction) == (20.0, 6.5836, "low")


def test_scope_counts_only_its_users(source, cfg):
    weekly_payers(source, tz=UTC)
    # odd users are in team:north: 9 10 11 10 10 10 10 10 of the weekly counts (by construction
    # of the ids: user ids run 1..160 over the weeks)
    source.tags(*[(u, "team:north") for u in range(1, 161, 2)])
    source.payments((1001, at(D, 12), 10), (1002, at(D, 13), 10))  # D: two payers, none in the scope
    source.tags((1002, "team:south"))
    scoped = baselines(source, cfg, scope=Scope.parse("team:north"), metrics=("new_payers",))["new_payers"]
    with source.engine.connect() as conn:
        hist = [new_payers.compute(conn, source.src, cfg, ReportDay(D - days(7 * k)), Scope.parse("team:north"))
                .new_payers for k in range(1, 9)]
    assert hist == [9, 10, 11, 10, 10, 10, 10, 10]
    # median 10, MAD 0 -> half 3 sqrt(10) = 9.4868
    assert (scoped.value, scoped.expected, scoped.low, scoped.high, scoped.direction) == (
        0.0, 10.0, 0.5132, 19.4868, "low")
    company = baselines(source, cfg, metrics=("new_payers",))["new_payers"]
    assert (company.value, company.expected) == (2.0, 20.0)


def test_breaches_per_day_use_each_days_cutoff(source, cfg):
    source.events(
        (8, E2, at(D - days(60), 9)),  # the data begin on D-60
        (1, S2, at(D - days(1), 10)),  # deadline D 10:00, open: breached on D
        (2, S2, at(D - days(1), 11)),  # closed on D before its cutoff: not breached
        (2, E2, at(D, 9)),
        (3, S2, at(D - days(8), 10)),  # deadline D-7 10:00; the end comes on D-5, after D-7's
        (3, E2, at(D - days(5), 10)),  # cutoff: breached on D-7
        (4, S2, at(D - days(8), 12)),  # restarted before D-7's cutoff: the first process is gone,
        (4, S2, at(D - days(7), 9)),   # the second breaches on D-6 (no history day)
        (5, S2, at(D - days(8), 23)),  # deadline D-7 23:00, end at D-6 01:00: breached on D-7
        (5, E2, at(D - days(6), 1)),
        (6, S2, at(D - days(1), 12)),  # an experiment user: left out
        (6, WA, at(D - days(50), 12)),
        (7, S2, at(D - days(15), 6)),  # breached on D-14
        (9, SV, at(D - days(1), 8)),  # intro lesson paid on D before its deadline: closed
        (10, SV, at(D - days(1), 9)),  # paid only on D+1: breached on D
    )
    source.payments((9, at(D, 7), 100), (10, at(D + days(1), 7), 100))
    b = baselines(source, cfg, metrics=("hanging",))
    with source.engine.connect() as conn:
        s = {x.key: x for x in checked_series(conn, source.src, cfg, ReportDay(D), metrics=("hanging",))
             if x.field == "breached_today"}
        for d in weekdays_of(ReportDay(D)):
            day = {p.name: p.breached_today for p in hanging.compute(conn, source.src, cfg, ReportDay(d)).pipelines}
            assert {k: x.value(d) for k, x in s.items()} == day, d
    second = s["Second line"]
    assert [second.value(D - days(7 * k)) for k in range(9)] == [1, 2, 1, 0, 0, 0, 0, 0, 0]
    # history 2 1 0 0 0 0 0 0: median 0, MAD 0 -> band 0..3; D's 1 is inside
    sl = b["breached.Second line"]
    assert (sl.metric, sl.key, sl.field, sl.value, sl.expected, sl.low, sl.high, sl.direction) == (
        "hanging", "Second line", "breached_today", 1.0, 0.0, 0.0, 3.0, None)
    assert b["breached.Intro-lesson payment"].value == 1.0
    assert second.first_day == D - days(59)  # the first event's day + ceil(24 h / 24 h)


# ---- the series against the metrics, day by day, on seeded data ----

@pytest.fixture(scope="module")
def seeded(engine):
    schema = f"bl_{uuid.uuid4().hex[:8]}"
    seed(engine, schema, users=300, days=100, start=date(2024, 1, 1), seed=5, progress=False)
    state = f"st_{schema}"
    migrate(engine, state)
    yield schema, state
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{schema}" cascade; drop schema "{state}" cascade')


def per_day(conn, src, cfg, rd: ReportDay, scope) -> dict:
    """Every checked number of one day, from the metrics themselves."""
    np_ = new_payers.compute(conn, src, cfg, rd, scope)
    out = {("new_payers", None, f): getattr(np_, f) for f in ("new_payers", "new_payer_revenue", "revenue", "payments")}
    for p in hanging.compute(conn, src, cfg, rd, scope).pipelines:
        out["hanging", p.name, "breached_today"] = p.breached_today
    ensure_days(conn, src, cfg.attribution, rd.timezone, attribution.window_days(cfg, rd))  # the digest's stage
    at_ = attribution.compute(conn, src, cfg, rd, scope)
    out["attribution", None, "sessions"] = at_.sessions
    for r in at_.channels:
        if r.channel != attribution.UNATTRIBUTED:
            out["attribution", r.channel, "sessions"] = r.sessions
    for r in campaigns.compute(conn, src, cfg, rd, scope=scope).channels:
        out["campaigns", r.channel, "total"] = r.total
        out["campaigns", r.channel, "block_share"] = round(r.blocked / r.total, 4) if r.total else None
        conv = r.open_conversions + r.click_conversions
        out["campaigns", r.channel, "conversion_rate"] = round(conv / r.sent, 4) if r.sent else None
    return out


@pytest.mark.parametrize("tz,day,scope", [
    ("Europe/Berlin", date(2024, 4, 4), None),  # D-7 is the week of the spring-forward Sunday
    ("UTC", date(2024, 3, 20), "team:north"),
])
def test_series_equal_the_metrics_day_by_day(engine, seeded, cfg, tz, day, scope):
    schema, state = seeded
    rd, sc = ReportDay(day, tz), Scope.parse(scope) if scope else None
    with engine.begin() as conn:
        src = inspect_source(conn, schema, state)
        series = checked_series(conn, src, cfg, rd, sc)
        # only the 9 days read were built in the session store, not the history before them
        built = conn.execute(sa.text(f'select local_day from "{state}".attribution_days d '
                                     f"join \"{state}\".attribution_scopes s using (scope) "
                                     "where s.scope like :tz"), {"tz": f"%|{tz}|%"}).scalars().all()
        assert sorted(built) == weekdays_of(rd)
    got = {(s.metric, s.key, s.field): s for s in series}
    # section 12 adds the funnel's conversions and the close rates (tests/test_detector_db.py)
    assert {k[0] for k in got} == {"new_payers", "hanging", "funnel", "attribution", "campaigns"}
    got = {k: s for k, s in got.items() if k[::2] in SECTION8}
    assert len({k[0] for k in got}) == 4
    checked = 0
    for d in weekdays_of(rd):
        with engine.begin() as conn:
            expected = per_day(conn, inspect_source(conn, schema, state), cfg, ReportDay(d, tz), sc)
        for k, v in expected.items():
            assert got[k].value(d) == pytest.approx(v, abs=1e-6) if v is not None else got[k].value(d) is None, (d, k)
            checked += 1 if v else 0
        # a number the series holds but the metric does not show is 0 (a channel without sessions)
        assert all(not s.value(d) for k, s in got.items() if k not in expected), d
    assert checked > 150  # the comparison compared real numbers, not zeros


def test_a_dst_week_keeps_local_days(source, cfg):
    # Berlin springs forward on Sunday 2024-03-31: D = Thursday 04-04 (UTC+2), D-7 = 03-28 (UTC+1).
    ber, dd = ZoneInfo("Europe/Berlin"), date(2024, 4, 4)
    counts = [3, 5, 4, 4, 6, 4, 5, 4]  # D-7 ... D-56
    rows, uid = [], 0
    for k, n in enumerate(counts, start=1):
        day = dd - days(7 * k)
        for i in range(n):  # the first and the last local minutes of the day, alternately
            uid += 1
            rows.append((uid, at(day, 0, 0, tz=ber) if i % 2 == 0 else at(day, 23, 59, 59, tz=ber), 10))
    uid += 1
    rows.append((uid, at(dd, 0, 0, tz=ber), 10))  # D: 22:00 UTC on 04-03
    rows.append((uid + 1, at(dd, 23, 59, 59, tz=ber), 10))  # 21:59:59 UTC on 04-04
    rows.append((uid + 2, at(dd + days(1), 0, 0, tz=ber), 10))  # D+1: not D
    source.payments(*rows)
    with source.engine.connect() as conn:
        s = next(x for x in checked_series(conn, source.src, cfg, ReportDay(dd, "Europe/Berlin"),
                                                   metrics=("new_payers",)) if x.field == "new_payers")
    assert [s.value(dd - days(7 * k)) for k in range(9)] == [2, 3, 5, 4, 4, 6, 4, 5, 4]
    b = baselines(source, cfg, day=dd, tz="Europe/Berlin", metrics=("new_payers",))["new_payers"]
    # 3 5 4 4 6 4 5 4: median 4, deviations 1 1 0 0 2 0 1 0 -> MAD 0.5 -> spread .7413 < sqrt(4) = 2
    # -> half 6: band 0 .. 10, D's 2 inside
    assert (b.value, b.expected, b.low, b.high, b.direction) == (2.0, 4.0, 0.0, 10.0, None)
