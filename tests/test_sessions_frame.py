"""The ordered steps in Polars (metrics.sessions.frame) against the same steps in SQL.

Whole days are built by sessions_frame, the incremental update by sessions_sql: both must give
the very same sessions. First by hand on a frame (no database), then on random events through
Postgres, in two time zones.
"""
from datetime import timedelta

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.day import local_midnight
from metrics.sessions.frame import _EVENTS, read_events, sessionize, store_rows
from metrics.sessions.rules import SESSION_COLUMNS, rule_params, sessions_sql
from metrics.sessions.store import _keyed_sql, sync_scope
from tests.test_attribution_fixtures import D, make_web
from tests.test_sessions_incremental import REFS, UTMS, _row

MIN = 60 * 1_000_000  # a minute in microseconds


def _events(rows):
    """Events as events_sql hands them over, from (skey, id, minute, day number, src_key)."""
    return pl.DataFrame(
        [{"skey": k, "k_user": int(k[2:]) if k.startswith("u:") else None,
          "id": i, "epoch": m * 60.0, "local_day": day, "u_campaign": None, "src_key": s,
          "ch_source": s, "ch_medium": None} for k, i, m, day, s in rows],
        schema=_EVENTS)


def _starts(frame):
    """(skey, start minute, end minute, events, ch_source) of each session."""
    return [(r["skey"], r["started_us"] // MIN, r["ended_us"] // MIN, r["events"], r["ch_source"])
            for r in frame.iter_rows(named=True)]


def test_sessionize_by_hand():
    rows = [
        # a:x: 0, 30 (exactly the timeout: stays), 61 (31 after: new visit)
        ("a:x", 1, 0, 1, None), ("a:x", 2, 30, 1, None), ("a:x", 3, 61, 1, None),
        # u:7: google at 0; a direct hit at 5 stays; google again at 6 stays; bing at 7 starts one;
        # at 8 a new day (midnight) starts one although 1 minute passed
        ("u:7", 10, 0, 1, "google"), ("u:7", 11, 5, 1, None), ("u:7", 12, 6, 1, "google"),
        ("u:7", 13, 7, 1, "bing"), ("u:7", 14, 8, 2, None),
        # u:8 follows u:7's bing in the frame's order; its first hit has no source, its second the
        # same source bing: a source seen under another key must not carry over (two sessions)
        ("u:8", 20, 100, 1, None), ("u:8", 21, 101, 1, "bing"),
        # ties on time: the id decides the order
        ("a:z", 31, 5, 1, "b"), ("a:z", 30, 5, 1, "a"),
    ]
    got = _starts(sessionize(_events(list(reversed(rows))), timeout_minutes=30))
    assert got == [
        ("a:x", 0, 30, 2, None), ("a:x", 61, 61, 1, None),
        ("a:z", 5, 5, 1, "a"), ("a:z", 5, 5, 1, "b"),
        ("u:7", 0, 6, 3, "google"), ("u:7", 7, 7, 1, "bing"), ("u:7", 8, 8, 1, None),
        ("u:8", 100, 100, 1, None), ("u:8", 101, 101, 1, "bing"),
    ]


def test_sessionize_of_no_events_is_empty():
    assert sessionize(_events([]), 30).is_empty()


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)


def _both(web, cfg, tz: str) -> tuple[list, list]:
    """The sessions of D-1 .. D+2 by the Polars path and by the SQL path, as sorted tuples."""
    timeout = cfg.attribution.session_timeout_minutes
    with web.engine.begin() as conn:
        scope, high = sync_scope(conn, web.src, cfg.attribution, tz)
        params = {"scope": scope, "tz": tz, "high": high} | rule_params(cfg.attribution)
        frame_rows, sql_rows = [], []
        for day in (D - timedelta(days=1), D, D + timedelta(days=1), D + timedelta(days=2)):
            p = params | {"lo": local_midnight(day, tz), "hi": local_midnight(day + timedelta(days=1), tz)}
            frame = sessionize(read_events(conn, cfg.attribution, _keyed_sql(web.src), p), timeout)
            frame_rows += [r[1:] for r in store_rows(frame, scope).iter_rows()]
            sql_rows += [tuple(r) for r in conn.execute(
                sa.text(f"select {SESSION_COLUMNS} from ({sessions_sql(cfg.attribution, _keyed_sql(web.src))}) s"), p)]
    return sorted(frame_rows, key=str), sorted(sql_rows, key=str)


# Denser than the incremental test's events: 4.25 hours from 20:00 UTC on a 15-minute grid, so
# exact 30-minute gaps, ties and both midnights (Moscow's at 21:00 UTC, UTC's at 24:00) are common.
events = st.lists(st.fixed_dictionaries({
    "anonymous_id": st.sampled_from([None, "d1", "d2", "d3"]),
    "user_id": st.sampled_from([None, None, 1, 2]),
    "minute": st.integers(0, 17).map(lambda m: 15 * m),
    "utm": st.sampled_from(range(len(UTMS))),
    "ref": st.sampled_from(range(len(REFS))),
}), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events)
def test_polars_steps_equal_the_sql_steps(web, cfg, events):
    from tests.test_sessions_incremental import _reset

    _reset(web)
    web.rows([_row(e) for e in events])
    for tz in ("UTC", "Europe/Moscow"):
        frame_rows, sql_rows = _both(web, cfg, tz)
        assert frame_rows == sql_rows
        assert frame_rows  # every example has at least one event
