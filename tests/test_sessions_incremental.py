"""The incremental session store always equals a full recomputation.

Rows arrive in batches with random times (late rows, ties, logins that re-link old devices, a
device re-linked to another user); after every batch the store is updated incrementally, and at
the end it must equal a rebuild from scratch, in two time zones.
"""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_attribution_fixtures import SITE, D, at, make_web


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)

T0 = datetime(D.year, D.month, D.day, 20, 0, tzinfo=UTC)  # near midnight in UTC and Moscow
UTMS = [(), ("google", "cpc", "a"), ("Google", "CPC", "A"), ("facebook", "cpc", "a"), ("vk", "social")]
REFS = [None, None, "https://www.google.com/", SITE + "x", "https://blog.example.org/p"]

event = st.fixed_dictionaries({
    "anonymous_id": st.sampled_from([None, "d1", "d2", "d3", "d4"]),
    "user_id": st.sampled_from([None, None, None, 1, 2, 3]),
    "minute": st.integers(0, 60 * 30).map(lambda m: m - m % 5),  # 5-minute grid: ties and exact 30s
    "utm": st.sampled_from(range(len(UTMS))),
    "ref": st.sampled_from(range(len(REFS))),
})
batches = st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=4)


def _row(e, t0=T0, utms=UTMS, refs=REFS):
    """A web_events row from a drawn `event`; tests/test_sessions_spark.py draws from its own lists."""
    utm = utms[e["utm"]] + (None,) * (5 - len(utms[e["utm"]]))
    anon = e["anonymous_id"] if e["anonymous_id"] or e["user_id"] else "d1"
    return {
        "anonymous_id": anon, "user_id": e["user_id"], "happened_at": t0 + timedelta(minutes=e["minute"]),
        "page_url": SITE, "referrer": refs[e["ref"]], "utm_source": utm[0], "utm_medium": utm[1],
        "utm_campaign": utm[2], "utm_content": utm[3], "utm_term": utm[4],
    }


def _reset(w):
    with w.engine.begin() as conn:
        conn.exec_driver_sql(f'truncate "{w.src.schema}".web_events restart identity')
        for t in ("attribution_sessions", "attribution_links", "attribution_scopes"):
            conn.exec_driver_sql(f'delete from "{w.src.state_schema}".{t}')


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_incremental_equals_full_recomputation(web, cfg, batches):
    _reset(web)
    for batch in batches:
        web.rows([_row(e) for e in batch])
        for tz in ("UTC", "Europe/Moscow"):
            web.update(cfg, tz=tz)
    for tz in ("UTC", "Europe/Moscow"):
        incremental = web.sessions(cfg, tz)
        web.update(cfg, tz=tz, rebuild=True)
        assert web.sessions(cfg, tz) == incremental


def test_scripted_relinking_sequence(web, cfg):
    # d1 browses anonymously over two days; d1 then logs in as 1; later d1 is taken over by user 2;
    # user 1 keeps only its own server-side rows. After each step: incremental == rebuild.
    steps = [
        [{"anonymous_id": "d1", "happened_at": at(D, 9)}, {"anonymous_id": "d1", "happened_at": at(D, 23, 50)}],
        [{"anonymous_id": "d1", "user_id": 1, "happened_at": at(D, 23, 55)}],
        [{"user_id": 1, "happened_at": at(D, 23, 58)}, {"anonymous_id": "d2", "happened_at": at(D, 9, 10)}],
        [{"anonymous_id": "d1", "user_id": 2, "happened_at": at(D, 23, 59)}],
        [{"anonymous_id": "d2", "user_id": 2, "happened_at": at(D, 9, 20)}],
    ]
    expected_keys = [{"a:d1"}, {"u:1"}, {"u:1", "a:d2"}, {"u:1", "u:2", "a:d2"}, {"u:1", "u:2"}]
    for rows, keys in zip(steps, expected_keys):
        web.rows(rows)
        web.update(cfg)
        incremental = web.sessions(cfg)
        assert {r[0] for r in incremental} == keys
        web.update(cfg, rebuild=True)
        assert web.sessions(cfg) == incremental
    with web.engine.connect() as conn:
        got = conn.execute(sa.text(
            f'select skey, count(*) from "{web.src.state_schema}".attribution_sessions group by skey order by 1'
        )).all()
    # user 1: only its 23:58 row; user 2: d1's 9:00 and 23:50-23:59 (two sessions), d2's 9:10-9:20
    # (which joins d1's 9:00 session: 9:00, 9:10, 9:20 are 10 minutes apart) -> 2 sessions.
    assert got == [("u:1", 1), ("u:2", 2)]
