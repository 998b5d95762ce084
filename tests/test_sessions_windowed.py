"""The session store built day by day equals the full build, whatever the order of the work.

A report builds only the days it reads; the incremental update keeps built days up to date and
ignores unbuilt ones; the backfill builds the rest. Any interleaving of those, with rows arriving
late, devices changing hands across built and unbuilt days, midnight and DST, must leave exactly
the sessions of `rebuild_sessions` on every built day, and all of them once every day is built.
"""
from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.state import migrate
from metrics import attribution
from metrics.attribution import touches
from metrics.day import ReportDay
from metrics.sessions import scope_name
from metrics.sessions.store import ensure_days
from tests.test_attribution_fixtures import MSK, SITE, D, Web, at, by_channel, make_web

DAY = timedelta(days=1)
DAYS = [D + timedelta(days=i) for i in range(-3, 2)]  # D-3 .. D+1


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)


@pytest.fixture
def ref(source, engine, web):
    """The same source with a state schema of its own: the full build to compare with."""
    state = f"ref_{source.schema}"
    migrate(engine, state)
    return Web(source, state)


def build(w: Web, cfg, days, tz="UTC") -> None:
    with w.engine.begin() as conn:
        ensure_days(conn, w.src, cfg.attribution, tz, days)


def built_days(w: Web, cfg, tz="UTC") -> set[date]:
    with w.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(
            f'select local_day from "{w.src.state_schema}".attribution_days where scope = :s'),
            {"s": scope_name(w.src, cfg.attribution, tz)})}


def on_days(rows, days, tz) -> list[tuple]:
    from zoneinfo import ZoneInfo

    return [r for r in rows if r[1].astimezone(ZoneInfo(tz)).date() in days]


def assert_built_days_match(w: Web, ref: Web, cfg, tz: str) -> None:
    ref.update(cfg, tz=tz, rebuild=True)
    days = built_days(w, cfg, tz)
    assert w.sessions(cfg, tz) == on_days(ref.sessions(cfg, tz), days, tz)


# --- random interleavings -------------------------------------------------------------------

T0 = datetime(D.year, D.month, D.day, 19, 0, tzinfo=UTC)  # 22:00 Moscow: midnight in the range
UTMS = [(), ("google", "cpc", "a"), ("vk", "social")]
REFS = [None, None, "https://www.google.com/", SITE + "x"]
event = st.fixed_dictionaries({
    "anonymous_id": st.sampled_from([None, "d1", "d2", "d3"]),
    "user_id": st.sampled_from([None, None, 1, 2]),
    "day": st.integers(-3, 1),
    "minute": st.integers(0, 8 * 60).map(lambda m: m - m % 10),  # ties and exact 30-minute gaps
    "utm": st.sampled_from(range(len(UTMS))),
    "ref": st.sampled_from(range(len(REFS))),
})
op = st.one_of(
    st.tuples(st.just("rows"), st.lists(event, min_size=1, max_size=6)),
    st.tuples(st.just("build"), st.sets(st.sampled_from(DAYS), max_size=3)),
    st.tuples(st.just("sync"), st.just(None)),
)


def _row(e):
    utm = UTMS[e["utm"]] + (None,) * (5 - len(UTMS[e["utm"]]))
    anon = e["anonymous_id"] if e["anonymous_id"] or e["user_id"] else "d1"
    return {
        "anonymous_id": anon, "user_id": e["user_id"],
        "happened_at": T0 + timedelta(days=e["day"], minutes=e["minute"]),
        "page_url": SITE, "referrer": REFS[e["ref"]], "utm_source": utm[0], "utm_medium": utm[1],
        "utm_campaign": utm[2], "utm_content": utm[3], "utm_term": utm[4],
    }


def _reset(*webs):
    w = webs[0]
    with w.engine.begin() as conn:
        conn.exec_driver_sql(f'truncate "{w.src.schema}".web_events restart identity')
        for x in webs:
            for t in ("attribution_sessions", "attribution_links", "attribution_scopes", "attribution_days"):
                conn.exec_driver_sql(f'delete from "{x.src.state_schema}".{t}')


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=7))
def test_any_order_of_window_builds_and_updates_equals_the_full_build(web, ref, cfg, ops):
    _reset(web, ref)
    tz = "Europe/Moscow"
    for kind, arg in ops:
        if kind == "rows":
            web.rows([_row(e) for e in arg])
        else:
            build(web, cfg, sorted(arg) if kind == "build" else [], tz)
            assert_built_days_match(web, ref, cfg, tz)
    build(web, cfg, None, tz)  # the backfill of every remaining day
    ref.update(cfg, tz=tz, rebuild=True)
    assert web.sessions(cfg, tz) == ref.sessions(cfg, tz)


# --- scripted cases ---------------------------------------------------------------------------

def test_device_changing_hands_across_built_and_unbuilt_days(web, ref, cfg):
    web.hit(at(D - 5 * DAY, 9), "dev", utm=("google", "cpc"))  # an old, unbuilt day
    web.hit(at(D, 10), "dev")
    web.hit(at(D, 11), None, 7)
    build(web, cfg, [D - DAY, D])
    assert built_days(web, cfg) == {D - DAY, D}
    assert {r[0] for r in web.sessions(cfg)} == {"a:dev", "u:7"}  # D-5 is not built
    # the device logs in as user 7 on the unbuilt day: a row the update ignores, a link it applies
    web.hit(at(D - 5 * DAY, 9, 5), "dev", 7, event_type="identify")
    build(web, cfg, [])
    assert web.sessions(cfg) == [("u:7", at(D, 10), at(D, 10), 1, None, None),
                                 ("u:7", at(D, 11), at(D, 11), 1, None, None)]
    assert_built_days_match(web, ref, cfg, "UTC")
    # then it changes hands on a built day: both keys of D are recomputed, D-5 still waits
    web.hit(at(D - DAY, 8), "dev", 8, event_type="identify")
    build(web, cfg, [])
    assert_built_days_match(web, ref, cfg, "UTC")
    assert {r[0] for r in web.sessions(cfg)} == {"u:7", "u:8"}
    build(web, cfg, [D - 5 * DAY])  # an older report builds its own window
    ref.update(cfg, rebuild=True)
    assert web.sessions(cfg) == on_days(ref.sessions(cfg), {D - 5 * DAY, D - DAY, D}, "UTC")
    # D-5: the google session and the identify row, now both the device's (user 8's)
    assert next(r for r in web.sessions(cfg) if r[0] == "u:8") == (
        "u:8", at(D - 5 * DAY, 9), at(D - 5 * DAY, 9, 5), 2, "google", "cpc")


def test_a_report_builds_exactly_its_window_and_gives_the_full_build_numbers(web, ref, cfg):
    web.hit(at(D - 10 * DAY, 9), "u1", 1, utm=("google", "cpc"))  # outside every window
    web.hit(at(D - 3 * DAY, 1), "u1", utm=("vk", "social"))  # 71 h before the payment: in
    web.hit(at(D - DAY, 9), "u2", 2, ref="https://yandex.ru/")
    web.hit(at(D, 9), "u2")
    web.pay(1, at(D, 0, 30), 100)
    web.pay(2, at(D, 10), 50)
    windowed = web.report(cfg)
    assert built_days(web, cfg) == {D - 3 * DAY, D - 2 * DAY, D - DAY, D}
    ref.update(cfg)  # every day built
    assert windowed == ref.report(cfg)
    assert by_channel(windowed.channels) == {
        "Organic Social": (0, 0, 1.0, 100.0), "Organic Search": (0, 0, 1.0, 50.0), "Direct": (1, 1, 0.0, 0.0)}


def test_window_days_follow_the_lookback_across_dst(cfg):
    # Berlin springs forward on 2024-03-31: D = 04-01 starts at 22:00 UTC on 03-31, and 72 hours
    # earlier is 23:00 on 03-28 in Berlin (CET), so the window starts one calendar day earlier.
    berlin = attribution.window_days(cfg, ReportDay(date(2024, 4, 1), "Europe/Berlin"))
    assert berlin == [date(2024, 3, 28) + timedelta(days=i) for i in range(5)]
    assert attribution.window_days(cfg, ReportDay(date(2024, 3, 14), "UTC")) == DAYS[:4]


def test_dst_window_report_equals_the_full_build(web, ref, cfg):
    tz, d = "Europe/Berlin", date(2024, 4, 1)
    web.hit(datetime(2024, 3, 28, 22, 30, tzinfo=UTC), "x", 3, utm=("google", "cpc"))  # 23:30 CET 03-28
    web.pay(3, datetime(2024, 3, 31, 22, 15, tzinfo=UTC), 10)  # 00:15 CEST on 04-01: 71.75 h later
    windowed = web.report(cfg, day=d, tz=tz)
    assert by_channel(windowed.channels) == {"Paid Search": (0, 0, 1.0, 10.0)}
    ref.update(cfg, tz=tz)
    assert windowed == ref.report(cfg, day=d, tz=tz)


def test_funnel_first_touch_needs_no_built_day_and_equals_the_full_store(web, cfg):
    web.hit(at(D - 40 * DAY, 9), "p1", ref="https://yandex.ru/")  # anonymous, long ago ...
    web.hit(at(D - 2 * DAY, 9), "p1", 5, utm=("google", "cpc"))  # ... then logs in as 5
    web.hit(at(D - 50 * DAY, 9), None, 5, utm=("vk", "cpc"))  # a row of 5's without a device
    web.hit(at(D - 60 * DAY, 8), "shared", 6, utm=("newsletter", "email"))  # 6's device
    web.hit(at(D - 1 * DAY, 8), "shared", 6)
    web.hit(at(D - 70 * DAY, 8), "shared", utm=("facebook", "cpc"))  # anonymous before 6's login
    web.hit(at(D + DAY, 8), None, 9, utm=("google", "cpc"))  # after T: no first touch yet
    web.sync(cfg)
    with web.engine.begin() as conn:
        fast = touches.user_channel(conn, web.src, cfg, ReportDay(D), [5, 6, 9, 10])
    assert built_days(web, cfg) == set()
    # 5: vk cpc 50 days ago is its own earliest row (no device); 6: the shared device's facebook
    assert fast == {5: "Paid Social", 6: "Paid Social"}
    web.hit(at(D - 80 * DAY, 8), "p1", utm=("newsletter", "email"))  # a late row changes 5's first
    web.sync(cfg)
    with web.engine.begin() as conn:
        fast = touches.user_channel(conn, web.src, cfg, ReportDay(D), [5, 6, 9, 10])
    full = web.touches(cfg, [5, 6, 9, 10])
    assert fast == {u: t.first_touch for u, t in full.items() if t.first_touch} == {5: "Email", 6: "Paid Social"}


def test_progress_stages_of_a_digest(source, engine, cfg):
    from reports.digest import build_digest
    from reports.request import report_request

    web = make_web(source, engine)
    web.hit(at(D, 9), "a", 1)
    stages: list[str] = []
    build_digest(engine, cfg, report_request(ReportDay(D), metrics=("new_payers", "attribution"),
                                             source_schema=source.schema, state_schema=web.src.state_schema),
                 with_charts=True, progress=stages.append)
    assert stages == ["sessions", "new_payers", "attribution", "charts"]
    stages.clear()
    build_digest(engine, cfg, report_request(ReportDay(D), metrics=("new_payers",), source_schema=source.schema,
                                             state_schema=web.src.state_schema), with_charts=False, progress=stages.append)
    assert stages == ["new_payers"]


def test_the_store_of_a_scope_is_per_time_zone(web, cfg):
    web.hit(at(D, 23, 50, tz=MSK), "a")
    build(web, cfg, [D], "Europe/Moscow")
    assert built_days(web, cfg, "Europe/Moscow") == {D} and built_days(web, cfg, "UTC") == set()
    cfg2 = dataclasses.replace(cfg, attribution=dataclasses.replace(cfg.attribution, session_timeout_minutes=10))
    assert built_days(web, cfg2, "Europe/Moscow") == set()


def test_building_days_leaves_fresh_statistics_for_the_planner(web, cfg):
    # A store that grew from nothing without ANALYZE was planned as a handful of rows: a scoped
    # report's semi-join over the window's sessions then ran as a nested loop for minutes.
    for h in range(6):
        web.hit(at(D, 9 + h), f"d{h}")
    with web.engine.begin() as conn:
        ensure_days(conn, web.src, cfg.attribution, "UTC", [D])
        stored, days = (conn.execute(sa.text(f"select reltuples from pg_class where oid = '{web.src.state_table(t)}'::regclass")).scalar()
                        for t in ("attribution_sessions", "attribution_days"))
    assert (stored, days) == (6, 1)  # -1 (never analyzed) before
