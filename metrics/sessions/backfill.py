"""Build every missing day of a session store ahead of time, resumably, on parallel connections.

The scope is synced first (links and built days up to the newest row). Then the missing days are
built in chunks of consecutive days, each chunk in its own transaction that also writes its
attribution_days rows: a backfill killed at any moment loses at most its open chunks, and a rerun
goes on with the days still missing. Each chunk holds the scope's advisory lock in shared mode,
so several builders run at once while a report's sync (exclusive) waits for the open chunks; under
the lock the chunk reads the watermark and re-checks that its days are still missing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metrics.sessions import SessionStore, lock_key
from metrics.sessions.store import analyze_store, build_run, runs, sync_scope


@dataclass(frozen=True)
class BackfillPlan:
    scope: str
    days: list[date]  # the missing days, oldest first
    chunks: list[tuple[date, date]]  # [first, last] runs of consecutive missing days


@dataclass(frozen=True)
class ChunkDone:
    first: date
    last: date
    days: int
    rows: int  # web events sessionized (skipped days count 0)


def plan_backfill(engine: Engine, store: SessionStore, days: Iterable[date], chunk_days: int = 1) -> BackfillPlan:
    """Sync the scope (its own transaction) and list the days among `days` still missing."""
    src, cfg, tz = store.src, store.rules, store.tz
    with engine.begin() as conn:
        scope, _ = sync_scope(conn, src, cfg, tz)
        missing = store.missing_days(conn, days)
    return BackfillPlan(scope, missing, runs(missing, chunk_days))


def day_range(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _build_chunk(engine: Engine, store: SessionStore, first: date, last: date) -> ChunkDone:
    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock_shared(hashtext(:key))"),
                     {"key": lock_key(store.src, store.scope)})
        high = store.watermark(conn)
        # Two builders on two cores: each chunk stays on its own connection's core.
        conn.execute(sa.text("set local max_parallel_workers_per_gather = 0"))
        rows = 0
        for a, b in runs(store.missing_days(conn, day_range(first, last))):
            rows += build_run(conn, store, high, a, b)
    return ChunkDone(first, last, (last - first).days + 1, rows)


def run_backfill(engine: Engine, store: SessionStore, plan: BackfillPlan, workers: int = 2,
                 on_chunk: Callable[[ChunkDone], None] | None = None) -> int:
    """Build the plan's chunks, newest first, on `workers` connections; returns the rows built.

    `on_chunk` is called in the caller's thread after each committed chunk. The first failure
    cancels the chunks not yet started and is raised once the running ones end."""
    total = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # the days a report reads soonest are built first
        futures = [pool.submit(_build_chunk, engine, store, first, last) for first, last in reversed(plan.chunks)]
        try:
            for future in as_completed(futures):
                done = future.result()
                total += done.rows
                if on_chunk:
                    on_chunk(done)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if plan.chunks:
        with engine.begin() as conn:
            analyze_store(conn, store.src)
    return total


def prepare(engine: Engine, store: SessionStore, days: Iterable[date], workers: int = 2) -> int:
    """What a report does before its metrics read the store: sync it (new rows, changed links)
    and build the missing days among `days` on `workers` connections; returns the rows built."""
    return run_backfill(engine, store, plan_backfill(engine, store, days), workers)
