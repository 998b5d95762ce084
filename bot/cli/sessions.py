"""`salespulse sessions ...`: the attribution session store, built ahead of reports.

`sessions backfill --since DATE [--until DATE]` builds every day of the range that is not built
yet (docs/data-contract.md): chunk by chunk, each committed with its attribution_days rows, so it can
be stopped at any moment and run again. Progress (days, web rows a second) goes to stderr.

`sessions build --engine spark|postgres [--since DATE] [--until DATE]` (docs/scale.md) builds
the store's days of the range (default: every day with web events) in one go: on Postgres as a
report would, or on Apache Spark (metrics.sessions.spark_store) from the source Postgres over JDBC or from
`--parquet DIR`; `--master` is the only thing that changes on a cluster.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

from bot.cli.usage import UsageError
from db.settings import Settings, check_timezone
from db.sql import qualified


def add_parser(subparsers) -> None:
    s = subparsers.add_parser("sessions", help="the attribution session store (backfill)")
    sub = s.add_subparsers(dest="sessions_command", required=True)
    b = sub.add_parser("backfill", help="build the missing days of the session store, resumably")
    b.add_argument("--since", required=True, help="first day YYYY-MM-DD (in the report time zone)")
    b.add_argument("--until", help="last day YYYY-MM-DD (default: the day of the newest web event)")
    b.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    b.add_argument("--workers", type=int, default=2, help="parallel database connections (default 2)")
    b.add_argument("--chunk-days", type=int, default=1, help="days per committed chunk (default 1)")
    b.add_argument("--no-progress", action="store_true")
    g = sub.add_parser("build", help="build the session store of a range on Postgres or on Apache Spark")
    g.add_argument("--engine", choices=("postgres", "spark"), default="postgres")
    g.add_argument("--since", help="first day YYYY-MM-DD (default: the day of the oldest web event)")
    g.add_argument("--until", help="last day YYYY-MM-DD (default: the day of the newest web event)")
    g.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    g.add_argument("--parquet", metavar="DIR", help="spark: read web events from these Parquet files, not Postgres")
    g.add_argument("--master", help="spark: the master URL (default local[*], or spark-submit's)")
    g.add_argument("--shuffle-partitions", type=int, help="spark: spark.sql.shuffle.partitions")
    g.add_argument("--jdbc-jar", help="spark: the Postgres JDBC driver jar (default SPARK_JDBC_JAR or "
                                      "/usr/share/java/postgresql.jar)")
    g.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return {"backfill": backfill, "build": build}[args.sessions_command](args, settings)


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} '{text}' is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from None


def _status(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _check_order(first: date, last: date) -> None:
    if last < first:
        raise UsageError(f"--until {last} is before --since {first}; give --since on or before it")


def need_web_events(engine, schema: str, what: str = ": nothing to build", hint: str = "") -> str:
    """The web_events table's quoted name; a usage error when there is none (bot.cli.main's export too)."""
    import sqlalchemy as sa

    table = qualified(schema, "web_events")
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": table}).scalar() is None:
            raise UsageError(f"no table {table}{what} (SOURCE_SCHEMA is {schema}){hint}")
    return table


def backfill(args: argparse.Namespace, settings: Settings) -> int:
    import sqlalchemy as sa
    from tqdm import tqdm

    from db.engine import check_connection, engine_from_settings
    from db.source import inspect_source
    from db.state import migrate
    from metrics.config import load_config
    from metrics.sessions import SessionStore
    from metrics.sessions.backfill import day_range, plan_backfill, run_backfill

    tz = check_timezone("--timezone", args.timezone) if args.timezone else settings.report_timezone
    if args.workers < 1 or args.chunk_days < 1:
        raise UsageError("--workers and --chunk-days must be at least 1")
    since = _day(args.since, "--since")
    cfg = load_config(settings.metrics_config).attribution
    engine = engine_from_settings(settings)
    check_connection(engine)
    schema = settings.source_schema
    web = need_web_events(engine, schema)
    with engine.connect() as conn:
        newest = conn.execute(sa.text(f"select max(happened_at)::timestamptz from {web}")).scalar()
    if args.until:
        until = _day(args.until, "--until")
    elif newest is None:
        _status("web_events is empty: nothing to build", args.no_progress)
        return 0
    else:
        from zoneinfo import ZoneInfo

        until = newest.astimezone(ZoneInfo(tz)).date()
    _check_order(since, until)
    migrate(engine, settings.state_schema)
    _status("identity links and new rows…", args.no_progress)
    began = time.perf_counter()
    with engine.connect() as conn:
        store = SessionStore(inspect_source(conn, schema, settings.state_schema), cfg, tz)
    plan = plan_backfill(engine, store, day_range(since, until), args.chunk_days)
    _status(f"{len(plan.days)} of {(until - since).days + 1} days to build "
            f"({time.perf_counter() - began:.1f} s to sync)", args.no_progress)
    bar = tqdm(total=len(plan.days), unit="day", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
    started, rows = time.perf_counter(), [0]

    def on_chunk(done) -> None:
        rows[0] += done.rows
        rate = rows[0] / max(time.perf_counter() - started, 1e-9)
        bar.set_postfix_str(f"{rows[0]:,} rows, {rate:,.0f} rows/s, at {done.first}", refresh=False)
        bar.update(done.days)

    try:
        run_backfill(engine, store, plan, args.workers, on_chunk)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    print(f"built {len(plan.days)} days ({since} .. {until}, {tz}): {rows[0]:,} web rows in {seconds:.1f} s, "
          f"{rows[0] / seconds if seconds > 0 else 0:,.0f} rows/s")
    return 0



def build(args: argparse.Namespace, settings: Settings) -> int:
    from db.engine import check_connection, engine_from_settings
    from db.source import inspect_source
    from db.state import migrate
    from metrics.config import load_config

    tz = check_timezone("--timezone", args.timezone) if args.timezone else settings.report_timezone
    first = _day(args.since, "--since") if args.since else None
    last = _day(args.until, "--until") if args.until else None
    if first and last:
        _check_order(first, last)
    spark_only = [f for f, v in (("--parquet", args.parquet), ("--master", args.master),
                                 ("--shuffle-partitions", args.shuffle_partitions), ("--jdbc-jar", args.jdbc_jar)) if v]
    if args.engine == "postgres" and spark_only:
        raise UsageError(f"{', '.join(spark_only)}: only with --engine spark")
    if args.parquet and not os.path.isdir(args.parquet):
        raise UsageError(f"--parquet {args.parquet} is not a directory; give the folder of the .parquet files")
    cfg = load_config(settings.metrics_config).attribution
    engine = engine_from_settings(settings)
    check_connection(engine)
    schema = settings.source_schema
    if not args.parquet:
        need_web_events(engine, schema, hint="; or read Parquet files with --engine spark --parquet DIR")
    migrate(engine, settings.state_schema)
    with engine.connect() as conn:
        src = inspect_source(conn, schema, settings.state_schema)
    if args.engine == "postgres":
        return _build_postgres(engine, src, cfg, tz, first, last)
    return _build_spark(args, settings, engine, src, cfg, tz, first, last)


def _build_postgres(engine, src, cfg, tz: str, first, last) -> int:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from metrics.sessions.store import ensure_days

    began = time.perf_counter()
    with engine.begin() as conn:
        if first is None or last is None:
            lo, hi = conn.execute(sa.text(f"select min(happened_at)::timestamptz, max(happened_at)::timestamptz "
                                          f"from {src.table('web_events')}")).one()
            if lo is None:
                print("web_events is empty: nothing to build")
                return 0
            first = first or lo.astimezone(ZoneInfo(tz)).date()
            last = last or hi.astimezone(ZoneInfo(tz)).date()
            _check_order(first, last)  # one bound came from the data; build() checked two given ones
        scope = ensure_days(conn, src, cfg, tz, [first + timedelta(days=i) for i in range((last - first).days + 1)])
        events, count = conn.execute(sa.text(
            f"select coalesce(sum(events), 0), count(*) from {src.state_table('attribution_sessions')} "
            "where scope = :scope and local_day between :a and :b"), {"scope": scope, "a": first, "b": last}).one()
    _report("postgres", first, last, tz, int(events), int(count), time.perf_counter() - began)
    return 0


def _build_spark(args, settings: Settings, engine, src, cfg, tz: str, first, last) -> int:
    try:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        from metrics.sessions import SessionStore
        from metrics.sessions.spark_job import SparkOptions, jdbc_jar, spark_session
        from metrics.sessions.spark_store import (
            SparkBuildError,
            SparkInput,
            build_with_spark,
            jdbc_for,
        )
    except ImportError:
        raise UsageError("--engine spark needs PySpark: pip install 'salespulse[spark]' (and Java 17)") from None
    opts = SparkOptions(args.master, args.shuffle_partitions, args.jdbc_jar)
    if not os.path.isfile(jdbc_jar(opts)) and "PYSPARK_GATEWAY_PORT" not in os.environ:
        raise UsageError(f"no Postgres JDBC driver at {jdbc_jar(opts)}: apt-get install libpostgresql-jdbc-java, "
                         "or give its jar with --jdbc-jar / SPARK_JDBC_JAR")
    _status(f"starting Spark ({args.master or 'local[*]'})…", args.no_progress)
    spark = spark_session(opts)
    master = spark.sparkContext.master  # spark-submit's, when it was given there
    try:
        with jdbc_for(engine.url, settings.data_timezone, local=master.startswith("local")) as jdbc:
            done = build_with_spark(spark, engine, SessionStore(src, cfg, tz), SparkInput(jdbc, args.parquet, first, last))
    except SparkBuildError as exc:
        raise UsageError(str(exc)) from None
    except (Py4JJavaError, PySparkException) as exc:
        # e.g. the executors cannot reach Postgres; Java's stack trace says nothing more to a user
        lines = [ln.strip() for ln in str(exc).splitlines() if "Exception" in ln or "Error" in ln]
        raise UsageError(f"the Spark job failed: {(lines or [type(exc).__name__])[0][:300]}") from None
    finally:
        spark.stop()
    _report(f"spark {master}" + (" from Parquet" if args.parquet else " over JDBC"),
            done.first, done.last, tz, done.events, done.sessions, done.seconds)
    return 0


def _report(engine: str, first, last, tz: str, events: int, sessions: int, seconds: float) -> None:
    days = (last - first).days + 1
    print(f"built {days} days ({first} .. {last}, {tz}) on {engine}: {sessions:,} sessions of {events:,} "
          f"web rows in {seconds:.1f} s, {events / seconds if seconds > 0 else 0:,.0f} rows/s")
