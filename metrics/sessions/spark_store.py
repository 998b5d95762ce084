"""The Spark-built session store: read web events, derive on Spark, publish into Postgres at once.

`build_with_spark` builds the days [first, last] of a scope (metrics.sessions) the way the
Postgres engine's first build does: identity links over every row up to the watermark (the
newest web event's id), then the sessions of those days. Spark appends its rows to two UNLOGGED
staging tables in the state schema; one Postgres transaction, under the scope's exclusive
advisory lock, then moves them into the store with its watermark and its attribution_days rows,
and the staging tables are dropped. A job that dies midway leaves the store as it was.

Publishing follows the store's invariants: when the stored watermark is the job's, the links are
already these and only the range's days are replaced; otherwise the scope is started over at the
job's watermark (links replaced, every other built day forgotten and built again when needed),
exactly as the Postgres engine does (`metrics.sessions.reset_scope`, which `publish` calls). The
reports then read the store as usual, and their own sync picks up any row newer than the watermark.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.socket_bridge import SocketBridge, server_address, socket_path, via_loopback
from db.sql import qualified
from metrics.day import local_midnight
from metrics.sessions import SessionStore, lock_key
from metrics.sessions.rules import SESSION_COLUMNS
from metrics.sessions.spark_job import EVENT_COLUMNS, SparkBuildError, keyed_events, latest_links
from metrics.sessions.spark_job import sessions as spark_sessions
from metrics.sessions.store import analyze_store, mark_built, reset_scope

__all__ = ["SparkBuildError", "SparkInput", "build_with_spark", "jdbc_for", "jdbc_from_url", "publish"]

_EPOCH = "timestamptz 'epoch' + {} * interval '1 microsecond'"  # exact: integral microseconds


@dataclass(frozen=True)
class Jdbc:
    """Where Spark reaches Postgres. The password stays out of the URL, so it is never logged."""
    url: str
    user: str | None
    password: str | None
    data_timezone: str = "UTC"  # how a naive happened_at is read, as the engine's session does

    def props(self) -> dict[str, str]:
        p = {"driver": "org.postgresql.Driver"}
        if self.user:
            p["user"] = self.user
        if self.password:
            p["password"] = self.password
        return p


@contextmanager
def jdbc_for(url: sa.URL | str, data_timezone: str = "UTC", local: bool = True) -> Iterator[Jdbc]:
    """Where Spark reaches the database of `url` while the block runs. A Unix socket (the embedded
    Postgres of `make demo`) gets a loopback TCP bridge when Spark runs locally."""
    u = sa.make_url(url) if isinstance(url, str) else url
    path = socket_path(u)
    if path is None:
        yield jdbc_from_url(u, data_timezone)
        return
    if not local:
        raise SparkBuildError(
            f"the database listens on a Unix socket ({path}; the embedded Postgres when DATABASE_URL is "
            "unset), which a cluster's executors cannot reach; set DATABASE_URL to a host they can "
            "reach, e.g. postgresql://user@db.example.com:5432/db")
    with SocketBridge(path) as bridge:
        yield jdbc_from_url(via_loopback(u, bridge.port), data_timezone)


def jdbc_from_url(url: sa.URL | str, data_timezone: str = "UTC") -> Jdbc:
    u = sa.make_url(url) if isinstance(url, str) else url
    address = server_address(u)
    if not isinstance(address, tuple):
        names = f"a Unix socket ({address})" if address else "no host"
        raise SparkBuildError(f"the Spark engine reaches Postgres over TCP (JDBC), and the database URL names "
                              f"{names}; use e.g. postgresql://user@127.0.0.1:5432/db")
    host, port = address
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, bracketed as in any URL
    return Jdbc(f"jdbc:postgresql://{host}:{port}/{u.database or ''}", u.username, u.password, data_timezone)


@dataclass(frozen=True)
class SparkBuild:
    scope: str
    first: date
    last: date
    watermark: int
    events: int  # web events in the built days' sessions
    sessions: int
    links: int
    seconds: float  # reading, deriving and publishing


def _midnight_us(day: date, tz: str) -> int:
    return round(local_midnight(day, tz).timestamp()) * 1_000_000


def _day_of_us(us: int, tz: str) -> date:
    return datetime.fromtimestamp(us // 1_000_000, ZoneInfo(tz)).date()


def _read_jdbc(spark, jdbc: Jdbc, sql: str, bounds: tuple[int, int] | None, partitions: int):
    r = (spark.read.format("jdbc").option("url", jdbc.url).option("fetchsize", "10000")
         .option("sessionInitStatement", f"set time zone '{jdbc.data_timezone}'"))
    for k, v in jdbc.props().items():
        r = r.option(k, v)
    r = r.option("dbtable", f"({sql}) q")
    if bounds and partitions > 1 and bounds[1] > bounds[0]:
        r = (r.option("partitionColumn", "id").option("lowerBound", str(bounds[0]))
             .option("upperBound", str(bounds[1] + 1)).option("numPartitions", str(partitions)))
    return r.load()


def _us_sql(col: str) -> str:
    return f"(extract(epoch from {col}::timestamptz) * 1000000)::bigint"


@dataclass(frozen=True)
class SparkInput:
    """Where a Spark build reads its web events (the source Postgres over `jdbc`, or the Parquet
    files under `parquet`) and which days it builds ([first, last]; None: from the first to the
    last web event's day). The store is written over `jdbc` either way."""
    jdbc: Jdbc
    parquet: str | None = None
    first: date | None = None
    last: date | None = None


def _postgres_inputs(spark, engine: Engine, store: SessionStore, inp: SparkInput, partitions: int):
    """(events of the range, link candidates, watermark, first, last) from the source Postgres."""
    src, tz, jdbc, first, last = store.src, store.tz, inp.jdbc, inp.first, inp.last
    web = src.table("web_events")
    with engine.connect() as conn:
        high, lo, hi = conn.execute(sa.text(
            f"select coalesce(max(id), 0), min(happened_at)::timestamptz, max(happened_at)::timestamptz "
            f"from {web}")).one()
    if lo is None:
        raise SparkBuildError(f"{web} is empty: nothing to build")
    first = first or lo.astimezone(ZoneInfo(tz)).date()
    last = last or hi.astimezone(ZoneInfo(tz)).date()
    lo_ts = local_midnight(first, tz).isoformat()
    hi_ts = local_midnight(last + timedelta(days=1), tz).isoformat()
    in_range = f"w.happened_at >= '{lo_ts}'::timestamptz and w.happened_at < '{hi_ts}'::timestamptz and w.id <= {high}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f"set time zone '{jdbc.data_timezone}'")
        a, b = conn.exec_driver_sql(f"select min(id), max(id) from {web} w where {in_range}").one()
    cols = ", ".join("w." + c if c != "us" else _us_sql("w.happened_at") + " as us" for c in EVENT_COLUMNS)
    events = _read_jdbc(spark, jdbc, f"select {cols} from {web} w where {in_range}",
                        (a, b) if a is not None else None, partitions)
    both = (f"select w.id, w.anonymous_id, w.user_id, {_us_sql('w.happened_at')} as us from {web} w "
            f"where w.anonymous_id is not null and w.user_id is not null and w.id <= {high}")
    candidates = _read_jdbc(spark, jdbc, both, (1, high), partitions)
    return events, candidates, high, first, last


def _parquet_inputs(spark, path: str, data_timezone: str, tz: str, days: tuple[date | None, date | None]):
    from pyspark.sql import functions as F

    from metrics.sessions.spark_job import events_from_parquet

    events = events_from_parquet(spark, path, data_timezone)
    high, lo, hi = events.agg(F.max("id"), F.min("us"), F.max("us")).first()
    if high is None:
        raise SparkBuildError(f"{path}: no web events in the Parquet files")
    first, last = days
    return events, events, int(high), first or _day_of_us(lo, tz), last or _day_of_us(hi, tz)


def _staging(engine: Engine, state: str, token: str) -> tuple[str, str]:
    s_tab, l_tab = qualified(state, f"_spark_sessions_{token}"), qualified(state, f"_spark_links_{token}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
        create unlogged table {s_tab} (skey text, user_id bigint, local_day text, first_event_id bigint,
            started_us bigint, ended_us bigint, events integer, ch_source text, ch_medium text, utm_campaign text);
        create unlogged table {l_tab} (anonymous_id text, user_id bigint, linked_us bigint, row_id bigint)""")
    return s_tab, l_tab


def _write(df, jdbc: Jdbc, table: str) -> None:
    (df.write.format("jdbc").mode("append").option("url", jdbc.url + "?reWriteBatchedInserts=true")
     .option("dbtable", table).option("batchsize", "10000")
     .options(**jdbc.props()).save())


def publish(engine: Engine, store: SessionStore, high: int, days: tuple[date, date],
            staged: tuple[str, str]) -> tuple[int, int, int]:
    """Move the staged rows (tables of sessions, links) into the store's days [first, last] in
    one transaction; (events, sessions, links)."""
    src, scope, (first, last), (s_tab, l_tab) = store.src, store.scope, days, staged
    p = {"scope": scope, "high": high, "first": first, "last": last, "key": lock_key(src, scope)}
    scopes, sessions = src.state_table("attribution_scopes"), src.state_table("attribution_sessions")
    with engine.begin() as conn:
        run = lambda sql: conn.execute(sa.text(sql), p)
        run("select pg_advisory_xact_lock(hashtext(:key))")
        run(f"insert into {scopes} (scope) values (:scope) on conflict do nothing")
        low = run(f"select last_event_id from {scopes} where scope = :scope").scalar_one()
        if low != high:
            reset_scope(conn, src, f"select anonymous_id, user_id, {_EPOCH.format('linked_us')}, row_id from {l_tab}", p)
        else:
            for t in ("attribution_sessions", "attribution_days"):
                run(f"delete from {src.state_table(t)} where scope = :scope and local_day between :first and :last")
        events, count = run(f"""
            with ins as (
                insert into {sessions} (scope, {SESSION_COLUMNS})
                select :scope, skey, user_id, local_day::date, first_event_id, {_EPOCH.format('started_us')},
                       {_EPOCH.format('ended_us')}, events, ch_source, ch_medium, utm_campaign
                from {s_tab}
                returning events)
            select coalesce(sum(events), 0), count(*) from ins""").one()
        mark_built(conn, src, scope, first, last)
        run(f"update {scopes} set last_event_id = :high, updated_at = now() where scope = :scope")
        links = run(f"select count(*) from {src.state_table('attribution_links')} where scope = :scope").scalar_one()
        analyze_store(conn, src)
    return int(events), int(count), int(links)


def build_with_spark(spark, engine: Engine, store: SessionStore, inp: SparkInput) -> SparkBuild:
    """Build the store's days of `inp` on `spark`, from its Parquet files or else the source
    Postgres."""
    began = time.perf_counter()
    src, cfg, tz, jdbc = store.src, store.rules, store.tz, inp.jdbc
    partitions = max(1, spark.sparkContext.defaultParallelism)
    if inp.parquet:
        events, candidates, high, first, last = _parquet_inputs(spark, inp.parquet, jdbc.data_timezone, tz,
                                                                (inp.first, inp.last))
    else:
        events, candidates, high, first, last = _postgres_inputs(spark, engine, store, inp, partitions)
    if last < first:
        raise SparkBuildError(f"--until {last} is before --since {first}; give --since on or before it")
    links = latest_links(candidates, high).cache()
    keyed = keyed_events(events, links, _midnight_us(first, tz), _midnight_us(last + timedelta(days=1), tz), high)
    token = uuid.uuid4().hex[:12]
    s_tab, l_tab = _staging(engine, src.state_schema, token)
    try:
        _write(links, jdbc, l_tab.replace('"', ""))
        _write(spark_sessions(keyed, cfg, tz), jdbc, s_tab.replace('"', ""))
        events_n, sessions_n, links_n = publish(engine, store, high, (first, last), (s_tab, l_tab))
    finally:
        links.unpersist()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"drop table if exists {s_tab}; drop table if exists {l_tab}")
    return SparkBuild(store.scope, first, last, high, events_n, sessions_n, links_n, time.perf_counter() - began)
