"""Building whole days of sessions: the per-event steps in Postgres, the ordered steps in Polars.

The rules are those of metrics.sessions.rules, which still runs them all in SQL for the incremental
update. For whole days (a report's window, the backfill) the ordered steps cost most of the time
in Postgres: one sort and five window passes, 0.6 s of the 1.2 s that one day of 119k web rows
took (EXPLAIN ANALYZE on the 21M-row bench, bench/README.md). Here Postgres runs only `events_sql` (the same SQL text, so what an event's
source is cannot drift) and streams its rows out with COPY; Polars sorts them and finds the session
starts with vectorized shifts and forward fills; the sessions go back with COPY.

One local day at a time, so Python holds one day's events (a bounded cohort), never a history.
"""
from __future__ import annotations

import io
from contextlib import closing

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metrics.sessions.identity import key_sql
from metrics.sessions.rules import SESSION_COLUMNS, events_sql

# What events_sql's `sourced` step hands over, and how Polars reads it. Postgres's text output is
# a good part of the cost, so the columns are the cheap ones to print: the epoch as float8 (not the
# numeric of extract(), which cost 0.6 s a day of 119k rows), the local day as a day number.
_EVENTS = {
    "skey": pl.Utf8, "k_user": pl.Int64, "id": pl.Int64, "epoch": pl.Float64, "local_day": pl.Int32,
    "u_campaign": pl.Utf8, "src_key": pl.Utf8, "ch_source": pl.Utf8, "ch_medium": pl.Utf8,
}
_EVENTS_SELECT = f"""
select {key_sql("s.k_user", "s.k_anon")}, s.k_user, s.id, date_part('epoch', s.ts), s.local_day - date '2000-01-01',
       s.u_campaign, s.src_key, s.ch_source, s.ch_medium
from sourced s"""
_DAY_ZERO = pl.date(2000, 1, 1)
STORE_COLUMNS = ("scope", *SESSION_COLUMNS.split(", "))
# An explicit NULL marker, so that an empty string and a null stay apart both ways.
_NULL = r"\N"


def _with_us(events: pl.DataFrame) -> pl.DataFrame:
    """The events with their time in exact microseconds.

    The float8 epoch is the double nearest the exact time (an int64 of microseconds divided by
    1e6, correctly rounded), printed shortest-exact; times up to the year 2200 are off by less than
    0.4 us, so rounding recovers the exact microsecond, and with it exact gaps and order."""
    return events.with_columns(us=(pl.col("epoch") * 1_000_000).round().cast(pl.Int64))


def sessionize(events: pl.DataFrame, timeout_minutes: int) -> pl.DataFrame:
    """Sessions of `events` (the _EVENTS columns, any order): the ordered steps of sessions_sql.
    Columns as the store's, but times as microseconds (started_us, ended_us) and the local day as
    events have it; sessions come out in (skey, start) order."""
    timeout_us = timeout_minutes * 60 * 1_000_000
    df = _with_us(events).sort(["skey", "us", "id"]).with_row_index("rn")
    key_starts = pl.col("skey") != pl.col("skey").shift(1)
    has_src = pl.col("src_key").is_not_null()
    df = df.with_columns(
        # a visit ends at a new key, an idle gap longer than the timeout, or local midnight
        new_visit=(key_starts | (pl.col("us") - pl.col("us").shift(1) > timeout_us)
                   | (pl.col("local_day") != pl.col("local_day").shift(1))).fill_null(True),
        # the last source seen before this row and where: it may belong to an earlier key, but
        # then it lies before this row's visit, which is all the rule below asks of it
        last_src_rn=pl.when(has_src).then(pl.col("rn")).shift(1).forward_fill(),
        last_src=pl.when(has_src).then(pl.col("src_key")).shift(1).forward_fill(),
    )
    df = df.with_columns(visit_rn=pl.when(pl.col("new_visit")).then(pl.col("rn")).forward_fill())
    # a session starts with a visit, or with a source other than the visit's last one
    new_session = pl.col("new_visit") | (has_src & (
        pl.col("last_src_rn").is_null() | (pl.col("last_src_rn") < pl.col("visit_rn"))
        | (pl.col("last_src") != pl.col("src_key"))))
    starts = df.filter(new_session)
    following = starts["rn"].shift(-1).fill_null(df.height)  # the next session's first row
    return starts.select(
        "skey", pl.col("k_user").alias("user_id"), "local_day", pl.col("id").alias("first_event_id"),
        pl.col("us").alias("started_us"),
        df["us"].gather(following - 1).alias("ended_us"),
        (following - starts["rn"]).cast(pl.Int32).alias("events"),
        "ch_source", "ch_medium", pl.col("u_campaign").alias("utm_campaign"),
    )


def _copy_out(conn: Connection, sql: str, params: dict) -> io.BytesIO:
    """The rows of `sql` (SQLAlchemy :params, bound client-side: COPY takes no server parameters)
    as CSV, read on the caller's transaction."""
    compiled = sa.text(sql).compile(dialect=conn.dialect)
    out = io.BytesIO()
    with closing(conn.connection.dbapi_connection.cursor()) as cursor:
        query = cursor.mogrify(str(compiled), compiled.construct_params(params)).decode()
        cursor.copy_expert(f"copy ({query}) to stdout with (format csv, null '{_NULL}')", out)
    out.seek(0)
    return out


def read_events(conn: Connection, cfg, raw_sql: str, params: dict) -> pl.DataFrame:
    """The per-event rows (_EVENTS) of `raw_sql`'s events, computed by Postgres."""
    data = _copy_out(conn, events_sql(cfg, raw_sql) + _EVENTS_SELECT, params)
    if not data.getbuffer().nbytes:
        return pl.DataFrame(schema=_EVENTS)
    return pl.read_csv(data, has_header=False, new_columns=list(_EVENTS), schema=_EVENTS,
                       null_values=_NULL, empty_string_is_null=False)


def store_rows(sessions: pl.DataFrame, scope: str) -> pl.DataFrame:
    """sessionize's rows as the store holds them (STORE_COLUMNS), times in UTC."""
    return sessions.select(
        pl.lit(scope).alias("scope"), "skey", "user_id",
        (_DAY_ZERO + pl.duration(days=pl.col("local_day"))).alias("local_day"), "first_event_id",
        pl.from_epoch("started_us", time_unit="us").dt.replace_time_zone("UTC").alias("started_at"),
        pl.from_epoch("ended_us", time_unit="us").dt.replace_time_zone("UTC").alias("ended_at"),
        "events", "ch_source", "ch_medium", "utm_campaign")


def write_sessions(conn: Connection, table: str, scope: str, sessions: pl.DataFrame) -> None:
    """Append `sessions` (sessionize's rows) under `scope` to `table` (a quoted name)."""
    if sessions.is_empty():
        return
    out = io.BytesIO()
    # ISO dates and UTC offsets: read the same under any DateStyle and TimeZone of the session
    store_rows(sessions, scope).write_csv(out, include_header=False, null_value=_NULL,
                                          datetime_format="%Y-%m-%d %H:%M:%S%.6f+00", date_format="%Y-%m-%d")
    out.seek(0)
    with closing(conn.connection.dbapi_connection.cursor()) as cursor:
        cursor.copy_expert(f"copy {table} ({', '.join(STORE_COLUMNS)}) from stdin with (format csv, null '{_NULL}')",
                           out)
