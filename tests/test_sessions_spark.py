"""One definition, two engines: the Spark-built session store equals the Postgres-built one.

The same hand-built fixtures (an idle gap of exactly 30 minutes, midnight, Berlin's DST day, a
device that logs in later, a shared device and a tie, internal referrers, upper-case UTM, direct
hits) go through both engines, in UTC and in Europe/Berlin; each fixture's sessions are also
checked against the answer worked out by hand. A Hypothesis test then compares the two stores
row for row (sessions, links, built days, watermark) on random data.

Spark starts once per module (local[1], 2 shuffle partitions). The Spark tests run when PySpark
and the Postgres JDBC driver are installed (`make test` installs both and sets
SALESPULSE_REQUIRE_SPARK=1, which turns a missing one into a failure instead of a skip).
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.seed import seed
from db.state import migrate
from metrics.sessions import scope_name
from tests.test_attribution_fixtures import SITE, Web
from tests.test_cli import assert_one_line_error
from tests.test_sessions_incremental import _row

_REQUIRED = os.environ.get("SALESPULSE_REQUIRE_SPARK") == "1"
try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - depends on the install
    if _REQUIRED:
        raise
    pytest.skip("PySpark is not installed (pip install -e '.[spark]')", allow_module_level=True)

from db.socket_bridge import socket_path
from metrics.sessions import SessionStore
from metrics.sessions.spark_job import SparkOptions, jdbc_jar, spark_session
from metrics.sessions.spark_store import (
    SparkBuildError,
    SparkInput,
    build_with_spark,
    jdbc_for,
    jdbc_from_url,
)

TEST_CONF = (
    # tiny inputs: interpreted plans start faster than compiled ones, and one small heap suffices
    ("spark.sql.codegen.wholeStage", "false"),
    ("spark.driver.memory", "1g"),
    ("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"),
)
D = datetime(2024, 3, 31, tzinfo=UTC)  # Berlin's DST day: 02:00 CET -> 03:00 CEST (01:00 UTC)
INTERNAL = ("pay.example.net",)


def _at(h: int, m: int = 0, s: int = 0, day: int = 0) -> datetime:
    return D + timedelta(days=day, hours=h, minutes=m, seconds=s)


@pytest.fixture(scope="module")
def spark():
    if not os.path.isfile(jdbc_jar(SparkOptions())):
        if _REQUIRED:
            pytest.fail(f"no Postgres JDBC driver at {jdbc_jar(SparkOptions())} (apt-get install libpostgresql-jdbc-java)")
        pytest.skip("no Postgres JDBC driver jar")
    s = spark_session(SparkOptions("local[1]", 2, conf=TEST_CONF), app="salespulse-tests")
    yield s
    s.stop()


@pytest.fixture
def jdbc(engine):
    with jdbc_for(engine.url) as j:  # the embedded Postgres (a Unix socket) through a loopback bridge
        yield j


@pytest.fixture
def cfg_internal(cfg):
    return dataclasses.replace(cfg, attribution=dataclasses.replace(cfg.attribution, internal_hosts=INTERNAL))


def _web(source, engine, suffix: str) -> Web:
    state = f"st{suffix}_{source.schema}"
    migrate(engine, state)
    return Web(source, state)


def store(w: Web, cfg, tz: str) -> dict:
    """Everything a build leaves in the state schema for the scope, in a fixed order."""
    scope = scope_name(w.src, cfg.attribution, tz)
    st_ = f'"{w.src.state_schema}"'
    q = {
        "sessions": f"select skey, user_id, local_day, first_event_id, started_at, ended_at, events, ch_source, "
                    f"ch_medium, utm_campaign from {st_}.attribution_sessions where scope = :s order by 1, 3, 4",
        "links": f"select anonymous_id, user_id, linked_at, row_id from {st_}.attribution_links "
                 f"where scope = :s order by 1",
        "days": f"select local_day from {st_}.attribution_days where scope = :s order by 1",
        "watermark": f"select last_event_id from {st_}.attribution_scopes where scope = :s",
    }
    with w.engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(sa.text(v), {"s": scope})] for k, v in q.items()}


def build_both(source, engine, spark, jdbc, cfg, tz: str) -> tuple[dict, dict]:
    pg, sp = _web(source, engine, "p"), _web(source, engine, "s")
    with engine.begin() as conn:
        for t in ("attribution_sessions", "attribution_links", "attribution_days", "attribution_scopes"):
            conn.exec_driver_sql(f'delete from "{pg.src.state_schema}".{t}; delete from "{sp.src.state_schema}".{t}')
    pg.update(cfg, tz=tz)
    build_with_spark(spark, engine, SessionStore(sp.src, cfg.attribution, tz), SparkInput(jdbc))
    return store(pg, cfg, tz), store(sp, cfg, tz)


def _fixture_rows() -> list[dict]:
    def r(ts, anon=None, user=None, ref=None, utm=(), page=SITE):
        utm = tuple(utm) + (None,) * (5 - len(utm))
        return {"anonymous_id": anon, "user_id": user, "happened_at": ts, "page_url": page, "referrer": ref,
                "utm_source": utm[0], "utm_medium": utm[1], "utm_campaign": utm[2], "utm_content": utm[3],
                "utm_term": utm[4]}
    return [
        # exactly 30 minutes stays in the session, 30:01 starts a new one
        r(_at(10), "x30"), r(_at(10, 30), "x30"), r(_at(11, 0, 1), "x30"),
        # 20 and 10 minutes apart, but 23:10 UTC is 00:10 in Berlin
        r(_at(22, 50, day=-1), "mid"), r(_at(23, 10, day=-1), "mid"), r(_at(23, 20, day=-1), "mid"),
        # 01:50 CET -> 03:10 CEST is 20 real minutes; 21:50 -> 22:10 UTC crosses Berlin's midnight
        r(_at(0, 50), "dst"), r(_at(1, 10), "dst"), r(_at(21, 50), "dst"), r(_at(22, 10), "dst"),
        # a device that logs in later: its earlier rows (even the day before) become user 7's
        r(_at(15, day=-1), "dl"), r(_at(9), "dl", utm=("google", "cpc", "brand")), r(_at(9, 10), "dl"),
        r(_at(9, 20), "dl", 7), r(_at(12), None, 7),
        # a shared device: the latest login (user 9) takes all of it, user 8's own row included
        r(_at(8), "sh", 8), r(_at(8, 5), "sh"), r(_at(20), "sh", 9), r(_at(13), "sh2", 8),
        # two logins at the same moment: the higher row id wins
        r(_at(14), "tie", 10), r(_at(14), "tie", 11),
        # the site itself (with www.) and an internal host are not sources; another site is
        r(_at(16), "ir"), r(_at(16, 5), "ir", ref="https://www.shop.example.com/cart"),
        r(_at(16, 10), "ir", ref="https://secure.pay.example.net/x"), r(_at(16, 15), "ir", ref="https://blog.example.org/p"),
        # UTM values compare case-insensitively and trimmed, Cyrillic too
        r(_at(18), "uc", utm=("Google", "CPC", "Spring")), r(_at(18, 10), "uc", utm=("google", "cpc", "spring")),
        r(_at(18, 20), "uc", utm=(" GOOGLE ", "cpc", "SPRING ")), r(_at(18, 30), "uc", utm=("google", "cpc", "summer")),
        r(_at(18, 40), "uc", utm=("google", "cpc", "ВЕСНА")), r(_at(18, 45), "uc", utm=("google", "cpc", "весна")),
        # a direct hit never breaks a session; the same source again does not either
        r(_at(19), "dh", utm=("facebook", "cpc")), r(_at(19, 10), "dh"), r(_at(19, 20), "dh", utm=("Facebook", "CPC")),
        # no id at all: not a visitor
        r(_at(19, 30)),
    ]


def _expected(tz: str) -> dict[str, list[tuple]]:
    """(started_at, events, ch_source, ch_medium, utm_campaign) per key, worked out by hand."""
    berlin = tz == "Europe/Berlin"
    n = (None, None, None)
    return {
        "a:x30": [(_at(10), 2, *n), (_at(11, 0, 1), 1, *n)],
        "a:mid": ([(_at(22, 50, day=-1), 1, *n), (_at(23, 10, day=-1), 2, *n)] if berlin
                  else [(_at(22, 50, day=-1), 3, *n)]),
        "a:dst": ([(_at(0, 50), 2, *n), (_at(21, 50), 1, *n), (_at(22, 10), 1, *n)] if berlin
                  else [(_at(0, 50), 2, *n), (_at(21, 50), 2, *n)]),
        "u:7": [(_at(15, day=-1), 1, *n), (_at(9), 3, "google", "cpc", "brand"), (_at(12), 1, *n)],
        "u:9": [(_at(8), 2, *n), (_at(20), 1, *n)],
        "u:8": [(_at(13), 1, *n)],
        "u:11": [(_at(14), 2, *n)],
        "a:ir": [(_at(16), 3, *n), (_at(16, 15), 1, "blog.example.org", "referral", None)],
        "a:uc": [(_at(18), 3, "google", "cpc", "spring"), (_at(18, 30), 1, "google", "cpc", "summer"),
                 (_at(18, 40), 2, "google", "cpc", "весна")],
        "a:dh": [(_at(19), 3, "facebook", "cpc", None)],
    }


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_hand_built_fixtures_equal_on_both_engines_and_as_worked_out(source, engine, spark, jdbc, cfg_internal, tz):
    Web(source, "unused").rows(_fixture_rows())
    pg, sp = build_both(source, engine, spark, jdbc, cfg_internal, tz)
    assert sp == pg
    got: dict[str, list[tuple]] = {}
    for skey, _user, _day, _first, started, _ended, events, src, med, camp in sp["sessions"]:
        got.setdefault(skey, []).append((started, events, src, med, camp))
    assert {k: sorted(v) for k, v in got.items()} == _expected(tz)
    assert [d for (d,) in sp["days"]] == ([D.date() - timedelta(days=1), D.date(), D.date() + timedelta(days=1)]
                                          if tz == "Europe/Berlin" else [D.date() - timedelta(days=1), D.date()])
    assert {a: u for a, u, _at_, _id in sp["links"]} == {"dl": 7, "sh": 9, "sh2": 8, "tie": 11}
    assert sp["watermark"] == [(len(_fixture_rows()),)]


def test_a_range_build_keeps_the_other_days_and_a_changed_watermark_starts_over(source, engine, spark, jdbc, cfg):
    w = Web(source, "unused")
    w.rows(_fixture_rows())
    sp = _web(source, engine, "s")
    attr = cfg.attribution
    build_with_spark(spark, engine, SessionStore(sp.src, attr, "UTC"), SparkInput(jdbc, first=D.date(), last=D.date()))
    assert [d for (d,) in store(sp, cfg, "UTC")["days"]] == [D.date()]
    # the day before, same watermark: added beside the built day
    build_with_spark(spark, engine, SessionStore(sp.src, attr, "UTC"),
                     SparkInput(jdbc, first=D.date() - timedelta(days=1), last=D.date() - timedelta(days=1)))
    pg = _web(source, engine, "p")
    pg.update(cfg)
    assert store(sp, cfg, "UTC") == store(pg, cfg, "UTC")
    # a new row: the next Spark build of one day starts the scope over at the new watermark
    w.rows([{"anonymous_id": "x30", "user_id": 12, "happened_at": _at(11, 10)}])
    build_with_spark(spark, engine, SessionStore(sp.src, attr, "UTC"), SparkInput(jdbc, first=D.date(), last=D.date()))
    got = store(sp, cfg, "UTC")
    assert [d for (d,) in got["days"]] == [D.date()] and got["watermark"] == [(len(_fixture_rows()) + 1,)]
    assert {s[0] for s in got["sessions"]} >= {"u:12"} and "a:x30" not in {s[0] for s in got["sessions"]}


# Random data: few devices and users on a 15-minute grid across Berlin's DST night and midnight,
# so idle gaps of exactly 30 minutes, ties, re-linked devices and source changes are common.
T0 = datetime(2024, 3, 30, 21, 0, tzinfo=UTC)
UTMS = [(), (), ("google", "cpc", "a"), ("Google ", "CPC", "A"), ("facebook", "cpc", "a"), ("vk", "social"),
        ("", "", "")]
REFS = [None, None, SITE + "x", "https://www.shop.example.com/", "https://pay.example.net/cb",
        "https://blog.example.org/p", "https://www.google.com/", "not a url"]
event = st.fixed_dictionaries({
    "anonymous_id": st.sampled_from([None, "d1", "d2", "d3", "d4"]),
    "user_id": st.sampled_from([None, None, None, 1, 2, 3]),
    "minute": st.integers(0, 40).map(lambda m: 15 * m),  # 0 .. 10 h on a 15-minute grid: gaps of exactly 30
    "utm": st.sampled_from(range(len(UTMS))),
    "ref": st.sampled_from(range(len(REFS))),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=30), tz=st.sampled_from(["UTC", "Europe/Berlin"]))
def test_random_data_gives_equal_stores(source, engine, spark, jdbc, cfg_internal, events, tz):
    with engine.begin() as conn:
        conn.exec_driver_sql(f'truncate "{source.schema}".web_events restart identity')
    Web(source, "unused").rows([_row(e, T0, UTMS, REFS) for e in events])
    pg, sp = build_both(source, engine, spark, jdbc, cfg_internal, tz)
    assert sp == pg
    assert sum(s[6] for s in sp["sessions"]) == len(events)  # every event is in exactly one session


def test_unix_socket_url_is_a_clear_error_on_a_cluster():
    with pytest.raises(SparkBuildError, match=r"over TCP .*names a Unix socket \(/tmp/pg/.s.PGSQL.5433\)"):
        jdbc_from_url("postgresql://postgres:@/postgres?host=/tmp/pg&port=5433")
    with pytest.raises(SparkBuildError, match="over TCP .*names no host"):
        jdbc_from_url("postgresql://postgres:@/postgres")
    with (pytest.raises(SparkBuildError, match="a cluster's executors cannot reach"),
          jdbc_for("postgresql://postgres:@/postgres?host=/tmp/pg", local=False)):
        pass
    assert jdbc_from_url("postgresql://u:secret@db.local:6432/sales").url == "jdbc:postgresql://db.local:6432/sales"
    assert jdbc_from_url("postgresql://u@/sales?host=db.local&port=7000").url == "jdbc:postgresql://db.local:7000/sales"
    assert jdbc_from_url("postgresql://u@[::1]:5433/sales").url == "jdbc:postgresql://[::1]:5433/sales"


def _cli(*args, env: dict, cwd, timeout: int = 120):
    full = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | env
    return subprocess.run([sys.executable, "-m", "bot.cli.main", *args], check=False, capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=timeout)


def test_cli_spark_from_parquet_equals_postgres_and_the_report_numbers_match(source, engine, database_url, spark,
                                                                             jdbc, cfg, tmp_path):
    """The lake path as a new user runs it: seed, export Parquet, build on Spark (a fresh JVM, as
    `salespulse sessions build --engine spark` starts one), then `report --format json`."""
    tz, day = "Europe/Moscow", date(2024, 1, 4)
    seed(engine, source.schema, users=40, days=4, start=date(2024, 1, 1), seed=7, progress=False)
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "REPORT_TIMEZONE": tz}
    lake = tmp_path / "lake"
    out = _cli("seed", "--parquet", str(lake), "--parquet-only", env=env, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("wrote "), out.stderr
    spark_state, pg_state = f"sts_{source.schema}", f"stp_{source.schema}"
    built = _cli("sessions", "build", "--engine", "spark", "--parquet", str(lake), "--master", "local[1]",
                 "--shuffle-partitions", "2", "--no-progress", env=env | {"STATE_SCHEMA": spark_state},
                 cwd=tmp_path, timeout=600)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built 5 days (2024-01-01 .. 2024-01-05, Europe/Moscow) on spark local[1] "
                                   "from Parquet"), built.stdout
    pg = _cli("sessions", "build", "--engine", "postgres", env=env | {"STATE_SCHEMA": pg_state}, cwd=tmp_path)
    assert pg.returncode == 0, pg.stderr
    by_spark, by_pg = store(Web(source, spark_state), cfg, tz), store(Web(source, pg_state), cfg, tz)
    assert by_spark == by_pg and len(by_pg["sessions"]) > 100
    # the JDBC path lands on the same store
    jdbc_state = _web(source, engine, "j")
    build_with_spark(spark, engine, SessionStore(jdbc_state.src, cfg.attribution, tz), SparkInput(jdbc))
    assert store(jdbc_state, cfg, tz) == by_pg

    def attribution(state: str) -> dict:
        proc = _cli("report", "--date", day.isoformat(), "--metric", "attribution", "--format", "json",
                    env=env | {"STATE_SCHEMA": state}, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["metrics"]["attribution"]

    after_spark = attribution(spark_state)
    assert after_spark == attribution(pg_state) and after_spark["payments"] > 0
    assert store(Web(source, spark_state), cfg, tz)["watermark"] == by_pg["watermark"]  # the report had nothing to add


def test_cli_bad_input_is_one_line(source, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema}
    cases = [
        (("--engine", "postgres", "--parquet", str(tmp_path)), "--parquet: only with --engine spark"),
        (("--engine", "spark", "--parquet", str(tmp_path / "nope")), "is not a directory"),
        (("--since", "2024-02-01", "--until", "2024-01-01"), "--until 2024-01-01 is before --since 2024-02-01"),
        (("--since", "May 1"), "--since 'May 1' is not a date"),
    ]
    for args, message in cases:
        assert_one_line_error(_cli("sessions", "build", *args, env=env, cwd=tmp_path), message)
    assert_one_line_error(_cli("seed", "--parquet-only", env=env, cwd=tmp_path), "--parquet-only needs --parquet DIR")
    source.drop_tables("web_events")
    assert_one_line_error(_cli("seed", "--parquet-only", "--parquet", str(tmp_path / "lake"), env=env, cwd=tmp_path),
                          f'no table "{source.schema}"."web_events" to export (SOURCE_SCHEMA is {source.schema})')


def test_a_folder_without_parquet_files_is_a_clear_error(spark, tmp_path):
    from metrics.sessions.spark_job import events_from_parquet

    with pytest.raises(SparkBuildError, match="cannot read Parquet files there"):
        events_from_parquet(spark, str(tmp_path))


SOCKET_DIR = "/var/run/postgresql"


def test_a_unix_socket_database_builds_through_the_loopback_bridge(source, engine, spark, cfg):
    """`make demo`'s embedded Postgres listens on a socket only: the test server's own socket when
    it is that one, else the machine's socket beside its TCP address."""
    url = engine.url
    if socket_path(url) is None:
        if engine.url.host not in ("127.0.0.1", "localhost") or not os.path.exists(f"{SOCKET_DIR}/.s.PGSQL.5432"):
            pytest.skip("no local Postgres socket beside the TCP address")
        url = engine.url.set(host=None, port=None).update_query_dict({"host": SOCKET_DIR})
    Web(source, "unused").rows(_fixture_rows())
    sp, pg = _web(source, engine, "s"), _web(source, engine, "p")
    with jdbc_for(url) as j:
        assert j.url.startswith("jdbc:postgresql://127.0.0.1:")
        build_with_spark(spark, engine, SessionStore(sp.src, cfg.attribution, "UTC"), SparkInput(j))
    pg.update(cfg)
    assert store(sp, cfg, "UTC") == store(pg, cfg, "UTC")
