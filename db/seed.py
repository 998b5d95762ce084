"""Deterministic synthetic demo data of any size: `salespulse seed` and `salespulse demo`.

The same (users, days, start, seed) always gives the same rows. Data are generated with numpy
(db.seed_sales, db.seed_messages, db.seed_web) and streamed into Postgres with COPY, chunk by
chunk, from a background thread: Python builds the next chunk while Postgres ingests the last one
(the two use the two cores). Everything lands in one transaction, so a failed seed leaves nothing.

Seeding into non-empty tables appends: user ids, row ids and anonymous ids continue after the
largest ones present, and the id sequences are moved past the new rows.
"""
from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.seed_common import Volumes, ints_text, money_text, ts_text, vocab
from db.seed_load import Copier, finish_load
from db.seed_messages import CAMPAIGNS, KINDS, REASONS, STATUSES, click_url, generate_messages
from db.seed_sales import EVENT_NAMES, generate_sales
from db.seed_tags import TAG_NAMES, generate_tags
from db.seed_web import COLUMNS as WEB_COLUMNS
from db.seed_web import make_devices, plan_sessions, web_chunks
from db.source import SOURCE_TABLES, create_source_tables, source_ddl
from db.sql import qualified

__all__ = ["SeedStats", "Volumes", "seed", "source_is_empty"]

WRITERS = int(os.environ.get("SEED_WRITERS", "2"))
# Tables with a bigserial id (user_tags has none: its rows are (user_id, tag) pairs).
ID_TABLES = tuple(t for t in SOURCE_TABLES[1:] if t != "user_tags")


@dataclass(frozen=True)
class SeedStats:
    schema: str
    users: int
    days: int
    start: date
    rows: dict[str, int] = field(default_factory=dict)  # per source table, rows added
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        parts = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        return (
            f"seeded {self.users:,} users x {self.days} days from {self.start:%Y-%m-%d} into "
            f'"{self.schema}": {self.total_rows:,} rows ({parts}) in {self.seconds:.1f} s, '
            f"{self.rows_per_second:,.0f} rows/s"
        )


def source_is_empty(engine: Engine, schema: str) -> bool:
    """True when the events table is missing or has no rows."""
    with engine.connect() as conn:
        events = qualified(schema, "events")
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": events}).scalar() is None:
            return True
        return not conn.exec_driver_sql(f"select exists (select 1 from {events})").scalar()


def seed(engine: Engine, schema: str, users: int, days: int, start: date, seed: int = 42,
         progress: bool = True, volumes: Volumes | None = None) -> SeedStats:
    """Create the source tables if absent and append `users` users' data over [start, start+days)."""
    began = time.perf_counter()
    with engine.begin() as conn:
        create_source_tables(conn, schema)
    raws = [engine.raw_connection() for _ in range(WRITERS)]
    raw = raws[0]
    try:
        cur = raw.cursor()
        offsets = _offsets(cur, schema)
        # Into empty tables, building the secondary indexes once at the end is about 3x faster
        # than maintaining them row by row during COPY (the web_events text index dominates).
        bulk = not any(offsets[t] for t in ID_TABLES)
        if bulk:
            for name in _secondary_indexes(schema):
                cur.execute(f"drop index if exists {qualified(schema, name)}")
        event_ids, new_names = _events_dict(cur, schema)
        raw.commit()  # the names first, so every writer's foreign-key checks can see them
        rows = {"events_dict": new_names} | _generate_and_copy(
            raws, schema, users, days, start, seed, progress, volumes or Volumes(), offsets, event_ids
        )
        for table in ID_TABLES:
            # Explicit ids were loaded: move the bigserial past them so later inserts don't collide.
            cur.execute(
                f"select setval(pg_get_serial_sequence(%s, 'id'), max(id)) from {qualified(schema, table)} "
                "having max(id) is not null", (qualified(schema, table),),
            )
        for r in raws:
            r.commit()
        finish_load(raws, schema, bulk)
    except BaseException:
        for r in raws:
            r.rollback()
        raise
    finally:
        for r in raws:
            r.close()
    return SeedStats(schema, users, days, start, rows, time.perf_counter() - began)


def _secondary_indexes(schema: str) -> list[str]:
    return re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", source_ddl(schema))


def _offsets(cur, schema: str) -> dict[str, int]:
    """Largest id per table, and the largest user id anywhere, so appended rows never collide."""
    out = {}
    for table in ID_TABLES:
        cur.execute(f"select coalesce(max(id), 0) from {qualified(schema, table)}")
        out[table] = cur.fetchone()[0]
    tables = ("events", "payments", "web_events", "message_sends")
    cur.execute("select greatest(" + ", ".join(f"(select max(user_id) from {qualified(schema, t)})" for t in tables) + ")")
    out["user"] = cur.fetchone()[0] or 0
    return out


def _events_dict(cur, schema: str) -> tuple[np.ndarray, int]:
    """Ids of EVENT_NAMES (index by event code), inserting the missing names; and how many."""
    cur.execute(f"select description, id from {qualified(schema, 'events_dict')}")
    have = dict(cur.fetchall())
    next_id = first_new = max(have.values(), default=0) + 1
    for name in EVENT_NAMES:
        if name not in have:
            cur.execute(f"insert into {qualified(schema, 'events_dict')} (id, description) values (%s, %s)",
                        (next_id, name))
            have[name] = next_id
            next_id += 1
    return np.array([have[n] for n in EVENT_NAMES]), next_id - first_new


def _generate_and_copy(raws, schema, users, days, start, seed, progress, vol, offsets, event_ids):
    from tqdm import tqdm

    horizon = days * 86_400
    day0 = np.datetime64(start, "s")
    uid0 = offsets["user"] + 1  # user index i is user id uid0 + i
    ss = np.random.SeedSequence([seed, users, days, start.toordinal()])
    # spawn(5)'s first four children are spawn(4)'s: adding the tags' stream changed no other row.
    r_sales, r_msg, r_dev, r_web, r_tags = (np.random.default_rng(s) for s in ss.spawn(5))

    sales = generate_sales(r_sales, users, days, vol)
    tags = generate_tags(r_tags, users, sales)
    msg = generate_messages(r_msg, sales.lead_at, days, vol.sends_per_user_day)
    pu, pt, pa = (np.concatenate([a, b]) for a, b in ((sales.pay_user, msg.pay_user),
                                                       (sales.pay_at, msg.pay_at),
                                                       (sales.pay_amount, msg.pay_amount)))
    paid = (pt >= 0) & (pt < horizon)
    o = np.flatnonzero(paid)[np.argsort(pt[paid], kind="stable")]
    pu, pt, pa = pu[o], pt[o], pa[o]
    ev = (sales.ev_at >= 0) & (sales.ev_at < horizon)
    eo = np.flatnonzero(ev)[np.argsort(sales.ev_at[ev], kind="stable")]
    ix = msg.ix_at < horizon

    dev = make_devices(r_dev, sales.lead_at, vol, uid0)
    pos = pa > 0
    ses = plan_sessions(r_dev, dev, sales.lead_at, days, vol, pu[pos], pt[pos],
                        msg.visit_user, msg.visit_at, msg.visit_campaign)
    estimate = len(tags.user) + len(eo) + len(pu) + len(msg.send_at) + int(ix.sum()) + int(ses.pages.sum())
    bar = tqdm(total=estimate, unit="rows", unit_scale=True, file=sys.stderr, disable=not progress,
               desc=f"seeding {schema}", smoothing=0.1)
    copier = Copier(raws, schema, bar)
    try:
        _copy_small(copier, vol.chunk_rows, offsets, uid0, day0, event_ids, sales, eo, pu, pt, pa, msg, ix)
        v_tag = vocab(list(TAG_NAMES))
        for s in _chunks(len(tags.user), vol.chunk_rows):
            copier.put("user_tags", ("user_id", "tag"), [ints_text(tags.user[s] + uid0), v_tag[tags.tag[s]].tolist()])
        copier.small_done()
        for _, cols in web_chunks(r_web, dev, ses, horizon, uid0, day0, offsets["web_events"] + 1,
                                  vol.chunk_rows):
            copier.put("web_events", WEB_COLUMNS, cols)
    finally:
        rows = copier.close()
        bar.total = bar.n  # the estimate counted rows later cut at the end of the period
        bar.close()
    return rows


def _chunks(n: int, size: int):
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def _copy_small(copier, size, offsets, uid0, day0, event_ids, sales, eo, pu, pt, pa, msg, ix):
    """events, payments, message_sends and message_interactions (the small tables)."""
    for s in _chunks(len(eo), size):
        i = eo[s]
        copier.put("events", ("id", "user_id", "event_id", "happened_at"), [
            ints_text(np.arange(s.start, s.stop) + offsets["events"] + 1),
            ints_text(sales.ev_user[i] + uid0),
            ints_text(event_ids[sales.ev_code[i]]),
            ts_text(day0, sales.ev_at[i]),
        ])
    for s in _chunks(len(pu), size):
        copier.put("payments", ("id", "user_id", "transaction_created_at", "amount", "currency"), [
            ints_text(np.arange(s.start, s.stop) + offsets["payments"] + 1),
            ints_text(pu[s] + uid0), ts_text(day0, pt[s]), money_text(pa[s]), ["RUB"] * (s.stop - s.start),
        ])
    v_camp = vocab([c.name for c in CAMPAIGNS])
    v_chan = vocab([c.channel for c in CAMPAIGNS])
    v_status, v_reason = vocab(list(STATUSES)), vocab([*REASONS, None])
    for s in _chunks(len(msg.send_at), size):
        copier.put("message_sends", ("id", "campaign", "channel", "user_id", "sent_at", "status",
                                     "block_reason", "cost"), [
            ints_text(np.arange(s.start, s.stop) + offsets["message_sends"] + 1),
            v_camp[msg.send_campaign[s]].tolist(), v_chan[msg.send_campaign[s]].tolist(),
            ints_text(msg.send_user[s] + uid0), ts_text(day0, msg.send_at[s]),
            v_status[msg.send_status[s]].tolist(), v_reason[msg.send_reason[s]].tolist(),
            money_text(np.nan_to_num(msg.send_cost[s]), null=np.isnan(msg.send_cost[s]), decimals=4),
        ])
    v_kind, v_url = vocab(list(KINDS)), vocab([click_url(c) for c in CAMPAIGNS] + [None])
    ii = np.flatnonzero(ix)
    for s in _chunks(len(ii), size):
        i = ii[s]
        copier.put("message_interactions", ("id", "send_id", "kind", "happened_at", "url"), [
            ints_text(np.arange(s.start, s.stop) + offsets["message_interactions"] + 1),
            ints_text(msg.ix_send[i] + offsets["message_sends"] + 1),
            v_kind[msg.ix_kind[i]].tolist(), ts_text(day0, msg.ix_at[i]), v_url[msg.ix_url[i]].tolist(),
        ])
