"""Finished days of the checked numbers, kept in the state schema (table baseline_days).

The model reads 12 weeks of every number; computing them afresh cost ~7 s a digest at 2,000
leads and 40,000 web events a day (bench/README). A day's numbers do not depend on the report
day that reads them (each is counted at its own cutoff), so a day is computed once and kept:
a digest runs one query per metric over the days the store lacks, the last RECENT_DAYS days
(processes still moving) and the days rows that arrived since the last digest fall on (late rows:
metrics.baselines.marks), and reads the rest from here.

A store is one source schema, time zone, scope and metric configuration (a hash of it, with
VERSION: a changed pipeline, step or definition starts a new store, never a mix). A session day
the session store has not built is not kept (it has no numbers yet). A correction that changes
rows in place (an UPDATE, or a table without an `id`) is not seen: it reaches the model within
RECENT_DAYS, or older when the store is emptied (`delete from <state>.baseline_days`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series, Slice
from metrics.baselines.marks import keep_marks, late_rows
from metrics.common import excluded_event_ids
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.scope import Scope

RECENT_DAYS = 3   # D and the 2 days before it are always computed afresh (late data, open processes)
VERSION = 1       # bump when a number's definition changes


def store_key(src: Source, cfg: MetricConfig, tz: str, scope: Scope | None) -> str:
    parts = (VERSION, cfg.excluded_events, cfg.hanging, cfg.funnel.steps, cfg.baselines.conversion_hours,
             cfg.attribution, cfg.campaigns)
    digest = hashlib.sha1(repr(parts).encode()).hexdigest()[:16]
    return f"{src.schema}|{tz}|{scope or ''}|{digest}"


def has_store(conn: Connection, src: Source) -> bool:
    return conn.execute(sa.text("select to_regclass(:t)"),
                        {"t": src.state_table("baseline_days")}).scalar() is not None


def stored_series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                  computes: Mapping[str, Callable[[int], list[Series]]]) -> list[Series]:
    """The series of D-84 ... D: kept days from the store, the others from `computes[metric](back)`
    (the metric's series over D-back ... D), whose finished days are kept for the next digest."""
    store = store_key(src, cfg, day.timezone, scope)
    table = src.state_table("baseline_days")
    first = day.day - timedelta(days=HISTORY_DAYS)
    recent = day.day - timedelta(days=RECENT_DAYS - 1)
    keys = {metric: f"{store}|{metric}" for metric in computes}
    marks = late_rows(conn, src, list(keys.values()), first, day.tz, excluded_event_ids(conn, src, cfg))
    out: list[Series] = []
    for metric, compute in computes.items():
        kept = {d: rows for d, rows in conn.execute(sa.text(
            f"select day, numbers from {table} where store = :store and metric = :metric "
            "and day >= :first and day < :recent"), {"store": store, "metric": metric, "first": first,
                                                    "recent": recent})}
        lacking = [first + timedelta(days=i) for i in range((recent - first).days) if first + timedelta(days=i) not in kept]
        stale = marks[keys[metric]].stale_from
        start = min([*lacking, *([stale] if stale else [])], default=recent)
        start = max(min(start, recent), first)
        fresh = compute((day.day - start).days)
        done = _finished(fresh, start, recent)
        if done:
            conn.execute(sa.text(
                f"insert into {table} (store, metric, day, numbers) values (:store, :metric, :day, cast(:n as jsonb)) "
                "on conflict (store, metric, day) do update set numbers = excluded.numbers, computed_at = now()"),
                [{"store": store, "metric": metric, "day": d, "n": json.dumps(rows)} for d, rows in done.items()])
        out.extend(_merge(fresh, {d: r for d, r in kept.items() if d < start and r is not None}))
        keep_marks(conn, src, keys[metric], marks[keys[metric]])
    return out


def _entries(s: Series, d: date) -> list:
    """One series' numbers of day d: [key, field, value, denominator, numerator, count]."""
    return [s.key, s.field, s.values.get(d), (s.denominators or {}).get(d), (s.numerators or {}).get(d),
            (s.counts or {}).get(d)]


def _finished(fresh: list[Series], start: date, recent: date) -> dict[date, list | None]:
    """Day -> its rows, for the computed days before the recent ones; None for a day no series has
    numbers for yet (before the data begin, or a session day outside `known`, not built): kept as
    such, so it is not computed again every digest, until rows arrive for it or the session store
    builds it (metrics.baselines.marks sends it back then). A day only some series know (money
    slices: owners every day, channels on built days) is not kept."""
    out: dict[date, list | None] = {}
    d = start
    while d < recent:
        if fresh and all(s.first_day is not None and d >= s.first_day and (s.known is None or d in s.known)
                         for s in fresh):
            rows = [_entries(s, d) for s in fresh]
            out[d] = [e for e in rows if any(x is not None for x in e[2:])]
        elif fresh and all(s.first_day is None or d < s.first_day or (s.known is not None and d not in s.known)
                           for s in fresh):
            out[d] = None  # no series has numbers (a day some series know is not kept at all)
        d += timedelta(days=1)
    return out


def _merge(fresh: list[Series], kept: dict[date, list]) -> list[Series]:
    """The fresh series with the kept days added (a key seen only in kept days gets a series)."""
    if not kept:
        return fresh
    by = {(s.key, s.field): s for s in fresh}
    template = fresh[0] if fresh else None
    first = template.first_day if template else min(kept)
    for rows in kept.values():
        for key, field, *_ in rows:
            if (key, field) not in by and template is not None:
                like = next((s for s in fresh if s.field == field), template)
                rate = like.denominators is not None
                by[key, field] = Series(like.metric, key, field, first, {}, {} if rate else None, like.known,
                                        {} if rate else None, None if like.counts is None else {},
                                        number=like.number)
    merged = {}
    for (key, field), s in by.items():
        values, dens = dict(s.values), None if s.denominators is None else dict(s.denominators)
        nums, counts = None if s.numerators is None else dict(s.numerators), None if s.counts is None else dict(s.counts)
        for d, rows in kept.items():
            for k, f, v, den, num, cnt in rows:
                if (k, f) == (key, field):
                    for target, x in ((values, v), (dens, den), (nums, num), (counts, cnt)):
                        if target is not None and x is not None:
                            target[d] = x
        known = None if s.known is None else s.known | frozenset(kept)
        merged[key, field] = replace(s, values=values, denominators=dens, numerators=nums, counts=counts,
                                     known=known, first_day=s.first_day or min(kept))
    # a total whose drivers are its own keyed values (all sessions: the channels) gets them merged too
    out = list(merged.values())
    return [replace(s, slices=tuple(Slice(s.number.key, k.key, k.values) for k in out
                                    if k.key is not None and k.field == s.field))
            if s.key is None and s.slices and all(x.dimension == s.number.key for x in s.slices) else s
            for s in out]
