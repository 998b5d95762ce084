"""Measuring one worker run: its own numbers plus what Postgres read for it.

Rows and buffers come from the cumulative statistics views, as deltas over the dataset's source
and state schemas: pg_statio_user_tables (heap, index and TOAST blocks, hit in shared buffers or
read from the OS) and pg_stat_user_tables (tuples returned by sequential scans and fetched by
index scans). pg_stat_statements would be finer, but it needs shared_preload_libraries and a
server restart, which a shared machine cannot have. The statistics views only count tables of
these schemas, so other sessions on the server do not leak into the numbers; temporary tables
(the incremental session update uses some) are not counted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent

_STATS_SQL = """
select coalesce(sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0)
                    + coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0)), 0) as blks_read,
       coalesce(sum(coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0)
                    + coalesce(toast_blks_hit, 0) + coalesce(tidx_blks_hit, 0)), 0) as blks_hit,
       (select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)
          from pg_stat_user_tables where schemaname = any(:schemas)) as tuples
from pg_statio_user_tables where schemaname = any(:schemas)
"""


@dataclass(frozen=True)
class Run:
    kind: str
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    blks_hit: int = 0
    blks_read: int = 0
    tuples: int = 0
    na: str | None = None  # why there is no number (metric not implemented, worker failed)
    extra: dict = field(default_factory=dict)  # the worker's other output (numbers, skipped)

    @property
    def buffers(self) -> int:
        return self.blks_hit + self.blks_read


def stats(engine: Engine, schemas: list[str]) -> tuple[int, int, int]:
    with engine.connect() as conn:
        r = conn.execute(sa.text(_STATS_SQL), {"schemas": schemas}).one()
        return int(r.blks_read), int(r.blks_hit), int(r.tuples)


def run_worker(engine: Engine, kind: str, schema: str, state_schema: str, day: date, tz: str,
               timeout_s: float = 3600) -> Run:
    """Run bench.worker in a fresh interpreter; Postgres statistics deltas around it."""
    schemas = [schema, state_schema]
    before = stats(engine, schemas)
    env = os.environ | {"RETENTIONEERING_NO_TRACK": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", kind, schema, state_schema, day.isoformat(), tz],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=timeout_s,
    )
    # Backends flush their statistics when they exit, just after the client disconnects.
    time.sleep(1.0)
    after = stats(engine, schemas)
    read, hit, tuples = (a - b for a, b in zip(after, before, strict=True))
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Run(kind, na=f"worker failed: {tail[:200]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(
        kind=kind,
        wall_s=out.pop("wall_s"),
        cpu_s=out.pop("cpu_s"),
        peak_rss_mb=out.pop("peak_rss_mb"),
        blks_hit=hit,
        blks_read=read,
        tuples=tuples,
        na=out.pop("na", None),
        extra=out,
    )


def rewind_sessions(engine: Engine, schema: str, state_schema: str, day_start, day_end) -> int:
    """Make the stored attribution sessions look as they do on the morning after D.

    The datasets are static, so after one update the session store is complete and later digests
    would find nothing new. Moving the watermark back by as many web_events rows as day D has
    gives every measurement day D's rows to ingest (bench.datasets gives them the highest ids),
    like a bot running daily. Returns the rewound row count.
    """
    with engine.begin() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"),
                        {"t": f'"{state_schema}".attribution_scopes'}).scalar() is None:
            return 0
        n = conn.execute(sa.text(
            f'select count(*) from "{schema}".web_events where happened_at >= :a and happened_at < :b'),
            {"a": day_start, "b": day_end}).scalar()
        conn.execute(sa.text(
            f'update "{state_schema}".attribution_scopes set last_event_id = '
            f'greatest(0, (select coalesce(max(id), 0) from "{schema}".web_events) - :n) '
            f"where last_event_id > 0"), {"n": n})
        return int(n)


def prime_sessions(engine: Engine, schema: str, state_schema: str, tz: str, since) -> float:
    """Bring up a session store the way a bot's first report does; returns the seconds it took.

    The scope is forgotten, then every identity link is loaded (one pass over the rows with both
    ids) and the days from `since` to the newest event are built (metrics.sessions.ensure_days):
    the store a daily bot has for the days the report reads (D and the 3-day lookback).
    """
    from datetime import timedelta

    from db.settings import load_settings
    from db.source import inspect_source
    from metrics.config import load_config
    from metrics.sessions import scope_name
    from metrics.sessions.store import ensure_days

    cfg = load_config(load_settings().metrics_config).attribution
    began = time.perf_counter()
    with engine.begin() as conn:
        src = inspect_source(conn, schema, state_schema)
        conn.execute(sa.text(f'update "{state_schema}".attribution_scopes set last_event_id = 0 where scope = :s'),
                     {"s": scope_name(src, cfg, tz)})
        last = conn.exec_driver_sql(f'select max(happened_at)::timestamptz from "{schema}".web_events').scalar()
        first = since.date() if hasattr(since, "date") else since
        days = [first + timedelta(days=i) for i in range((last.date() - first).days + 2)]
        ensure_days(conn, src, cfg, tz, days)
    return time.perf_counter() - began


def analyze_state(engine: Engine, state_schema: str) -> None:
    """Statistics for the session store, as autovacuum would eventually give it.

    Without them (right after a bulk build) the planner guessed ~4k links instead of 900k and
    merge-joined the whole web_events anonymous_id index: the one-day update took minutes at 12
    months instead of ~2 s. metrics.sessions should ANALYZE after its full build (reported).
    """
    with engine.begin() as conn:
        for t in ("attribution_scopes", "attribution_links", "attribution_sessions"):
            if conn.execute(sa.text("select to_regclass(:t)"), {"t": f'"{state_schema}".{t}'}).scalar():
                conn.exec_driver_sql(f'analyze "{state_schema}".{t}')


def rows_since(engine: Engine, schema: str, since) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            f'select count(*) from "{schema}".web_events where happened_at >= :a'), {"a": since}).scalar())


def sessions_built(engine: Engine, state_schema: str) -> bool:
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"),
                        {"t": f'"{state_schema}".attribution_scopes'}).scalar() is None:
            return False
        return bool(conn.exec_driver_sql(
            f'select exists (select 1 from "{state_schema}".attribution_scopes where last_event_id > 0)'
        ).scalar())
