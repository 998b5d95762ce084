"""Identity links and sessions on Apache Spark: the rules of metrics.sessions.rules, as DataFrames.

Input: web events with the contract's columns, the moment as `us` (microseconds since the epoch,
an exact integer, so no engine's time-zone handling touches it), from Postgres over JDBC or from
Parquet files. Output: the rows of the state schema's attribution_links and attribution_sessions,
timestamps again as microseconds, local_day as 'YYYY-MM-DD' text (metrics.sessions.spark_store turns them
into the store's types inside Postgres).

What an event's campaign source is (UTM normalization, the referrer's host, the source key and
the channel inputs) and the stitched key's text are not re-typed here: they are the SQL text of
metrics.sessions.rules and metrics.sessions.identity, which Spark SQL reads as Postgres does. Only the test
"the referrer's host is another site's and not an internal host" is restated below as DataFrame
expressions (Postgres matches the internal hosts with `!~` and a bind parameter, Spark with
`rlike`). The order-dependent steps (visits, carried source, session bounds)
are Spark windows; tests/test_sessions_spark.py pins them to the Postgres query, fixture by fixture
and on random data.

Spark runs with the session time zone UTC; the report time zone enters only in `local_day`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from metrics.config import AttributionConfig
from metrics.sessions.identity import key_sql
from metrics.sessions.rules import _internal_regex, authority_sql, host_sql, source_sql, utm_sql

UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# What the session rules read of a web event (`us` stands for happened_at).
EVENT_COLUMNS = ("id", "anonymous_id", "user_id", "us", "page_url", "referrer", *UTM_COLUMNS)
DEFAULT_JDBC_JAR = "/usr/share/java/postgresql.jar"  # Debian's libpostgresql-jdbc-java


class SparkBuildError(ValueError):
    """The build cannot run as asked (bad source, no TCP address for JDBC ...); one line."""


@dataclass(frozen=True)
class SparkOptions:
    master: str | None = None  # None: local[*], or what spark-submit was given
    shuffle_partitions: int | None = None  # None: 2 per core of a local master, else Spark's 200
    jdbc_jar: str | None = None  # None: SPARK_JDBC_JAR, else DEFAULT_JDBC_JAR
    conf: tuple[tuple[str, str], ...] = ()  # any other Spark settings, e.g. the tests' small ones


def jdbc_jar(opts: SparkOptions) -> str:
    return opts.jdbc_jar or os.environ.get("SPARK_JDBC_JAR") or DEFAULT_JDBC_JAR


def spark_session(opts: SparkOptions, app: str = "salespulse-sessions"):
    """A SparkSession for the job: UTC, no UI, no console progress bars, the JDBC driver on the
    class path. Under spark-submit (PYSPARK_GATEWAY_PORT set) its --master and --jars stand."""
    import warnings

    # PySpark 4 warns about pandas 3 on import; the job never converts to or from pandas.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    master = opts.master or (None if submitted else "local[*]")
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    if not submitted:
        b = b.config("spark.jars", jdbc_jar(opts))
    if master and master.startswith("local"):
        # nothing listens beyond loopback; 2 shuffle partitions a core instead of 200 tiny tasks
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        b = b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        cores = os.cpu_count() or 1
        inside = master[len("local["):-1] if master.startswith("local[") else "1"
        cores = cores if inside in ("*", "") else int(inside.split(",")[0])
        b = b.config("spark.sql.shuffle.partitions", str(opts.shuffle_partitions or 2 * cores))
    elif opts.shuffle_partitions:
        b = b.config("spark.sql.shuffle.partitions", str(opts.shuffle_partitions))
    conf = dict(opts.conf)
    for side in ("driver", "executor"):  # the JVMs in UTC too, whatever else they are given
        key = f"spark.{side}.extraJavaOptions"
        conf[key] = f"-Duser.timezone=UTC {conf.get(key, '')}".strip()
    conf |= {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
             "spark.sql.session.timeZone": "UTC"}
    for k, v in conf.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def events_from_parquet(spark, path: str, data_timezone: str = "UTC"):
    """Web events from a directory of Parquet files with the contract's columns. happened_at as a
    timestamp is an instant; as a timestamp without time zone it is read in `data_timezone`."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    try:
        df = spark.read.parquet(path)
    except AnalysisException as exc:  # e.g. no .parquet file in the folder
        raise SparkBuildError(f"{path}: cannot read Parquet files there ({str(exc).splitlines()[0]})") from None
    missing = [c for c in ("id", "happened_at", *EVENT_COLUMNS[1:3], *EVENT_COLUMNS[4:]) if c not in df.columns]
    if missing:
        raise SparkBuildError(f"{path}: the Parquet files lack the web_events column(s) {', '.join(missing)}")
    ts = F.col("happened_at")
    if isinstance(df.schema["happened_at"].dataType, TimestampNTZType):
        ts = F.to_utc_timestamp(ts.cast("timestamp"), data_timezone)
    return df.select(
        F.col("id").cast("bigint").alias("id"), F.col("anonymous_id").cast("string").alias("anonymous_id"),
        F.col("user_id").cast("bigint").alias("user_id"), F.unix_micros(ts.cast("timestamp")).alias("us"),
        *(F.col(c).cast("string").alias(c) for c in ("page_url", "referrer", *UTM_COLUMNS)),
    )


def latest_links(events, high: int):
    """Each device's latest row with a user_id (by time, then id), among rows id <= high."""
    from pyspark.sql import functions as F

    both = events.where(F.col("anonymous_id").isNotNull() & F.col("user_id").isNotNull()
                        & (F.col("id") <= high))
    best = both.groupBy("anonymous_id").agg(F.max(F.struct("us", "id", "user_id")).alias("m"))
    return best.select("anonymous_id", F.col("m.user_id").alias("user_id"),
                       F.col("m.us").alias("linked_us"), F.col("m.id").alias("row_id"))


def keyed_events(events, links, lo_us: int, hi_us: int, high: int):
    """The events of [lo_us, hi_us) up to the watermark with their stitched key: k_user (the linked
    user, else the row's own) or, with neither, k_anon (the device)."""
    from pyspark.sql import functions as F

    rows = events.where((F.col("us") >= lo_us) & (F.col("us") < hi_us) & (F.col("id") <= high)
                        & (F.col("anonymous_id").isNotNull() | F.col("user_id").isNotNull()))
    lk = links.select("anonymous_id", F.col("user_id").alias("l_user"))
    j = rows.join(lk, on="anonymous_id", how="left")
    return j.select(
        F.coalesce("l_user", "user_id").alias("k_user"),
        F.when(F.col("l_user").isNull() & F.col("user_id").isNull(), F.col("anonymous_id")).alias("k_anon"),
        *(c for c in EVENT_COLUMNS if c not in ("anonymous_id", "user_id")),
    )


def sessions(keyed, cfg: AttributionConfig, tz: str):
    """One row per session of the keyed events (the store's columns, times as started_us and
    ended_us); the rules of sessions_sql."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # Per event: local day, normalized UTM, the hosts (the same SQL text as the Postgres query).
    p = keyed.alias("p").selectExpr(
        "p.*", f"{authority_sql('p.referrer')} as ref_auth",
        f"case when p.referrer is not null then {authority_sql('p.page_url')} end as page_auth")
    r = p.alias("r")
    normalized = r.selectExpr(
        "r.k_user", "r.k_anon", "r.id", "r.us",
        f"to_date(from_utc_timestamp(timestamp_micros(r.us), '{tz}')) as local_day",
        *utm_sql("r"),
        f"{host_sql('r.ref_auth')} as ref_host",
        f"{host_sql('r.page_auth')} as page_host",
    )
    external = ~F.col("ref_host").eqNullSafe(F.col("page_host"))
    if cfg.internal_hosts:
        external = external & ~F.col("ref_host").rlike(_internal_regex(cfg))
    u = normalized.withColumn("ext_host", F.when(external, F.col("ref_host"))).alias("u")
    sourced = u.selectExpr("u.k_user", "u.k_anon", "u.id", "u.us", "u.local_day",
                           "u.u_campaign", *source_sql("u", "u.ext_host"))

    # Per key in time order: visits (idle gap, midnight), then a new session on a changed source.
    w = Window.partitionBy("k_user", "k_anon").orderBy("us", "id")
    upto = w.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    before = w.rowsBetween(Window.unboundedPreceding, -1)
    timeout_us = cfg.session_timeout_minutes * 60 * 1_000_000
    o = (sourced.withColumn("rn", F.row_number().over(w))
                .withColumn("prev_us", F.lag("us").over(w))
                .withColumn("prev_day", F.lag("local_day").over(w)))
    o = o.withColumn("new_visit", F.col("prev_us").isNull() | (F.col("us") - F.col("prev_us") > timeout_us)
                     | (F.col("local_day") != F.col("prev_day")))
    has_src = F.col("src_key").isNotNull()
    o = (o.withColumn("visit_rn", F.max(F.when(F.col("new_visit"), F.col("rn"))).over(upto))
          .withColumn("last_src_rn", F.last(F.when(has_src, F.col("rn")), ignorenulls=True).over(before))
          .withColumn("last_src", F.last("src_key", ignorenulls=True).over(before)))
    new_session = F.col("new_visit") | (has_src & (
        F.col("last_src_rn").isNull() | (F.col("last_src_rn") < F.col("visit_rn"))
        | (F.col("last_src") != F.col("src_key"))))
    o = o.withColumn("sid", F.sum(new_session.cast("int")).over(upto))

    # A session's fields come from its first event; rn leads the struct, so min() picks that row.
    first = F.min(F.struct("rn", "id", "us", "local_day", "ch_source", "ch_medium", "u_campaign"))
    g = o.groupBy("k_user", "k_anon", "sid").agg(
        first.alias("f"), F.max("us").alias("ended_us"), F.count(F.lit(1)).cast("int").alias("events"))
    return g.select(
        F.expr(key_sql("k_user", "k_anon")).alias("skey"), F.col("k_user").alias("user_id"),
        F.date_format("f.local_day", "yyyy-MM-dd").alias("local_day"),
        F.col("f.id").alias("first_event_id"), F.col("f.us").alias("started_us"), "ended_us", "events",
        F.col("f.ch_source").alias("ch_source"), F.col("f.ch_medium").alias("ch_medium"),
        F.col("f.u_campaign").alias("utm_campaign"),
    )
