"""Anomalies injected into a seeded dataset on known days, for the detector benchmark.

Every injection changes the source tables (and, where the derived session store holds the day,
marks it for a rebuild) inside the caller's transaction, which the benchmark rolls back: the
dataset stays clean for the next run. Kinds, each a drop or a spike of a fraction m of the day's
number (m in 0.3, 0.5, 0.75, 1.0; a spike of 1.0 doubles it):

- payers: m of D's new payers lose their payments of D (drop), or that many new users pay D
  exactly as some of D's new payers did (spike). Labels new_payers, new_payer_revenue.
- revenue: m of D's payments are deleted (drop) or paid twice (spike, one second later).
  Labels revenue, payments.
- sessions: m of one channel's sessions of D lose their web rows (drop; the day is rebuilt), or
  are copied as fresh anonymous devices (spike; the store's update picks the new rows up).
  Labels sessions.<channel>.
- breaches: m of one pipeline's processes breaching on D get an end a minute before their
  deadline (drop), or that many fresh users start the pipeline so that they breach on D (spike).
  Labels breached.<pipeline>.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from db.sql import quote
from metrics import hanging
from metrics.channels import channel_params
from metrics.common import event_ids
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.sessions import scope_name

KINDS = ("payers", "revenue", "sessions", "breaches")
MAGNITUDES = (0.3, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Injection:
    day: ReportDay
    kind: str
    direction: str  # "low" (a drop) or "high" (a spike)
    magnitude: float
    targets: tuple[str, ...]  # the Baseline targets this injection is meant to move
    changed: int = 0  # rows of the day's number actually moved (for the table's sanity)


def _x(conn: Connection, sql: str, params: dict) -> int:
    return conn.execute(sa.text(sql), params).rowcount


def _n(share: float, count: int) -> int:
    return round(share * count)


def payers(conn: Connection, src: Source, inj: Injection) -> int:
    p = src.table("payments")
    d = inj.day
    params = {"start": d.start, "end": d.end}
    new = [r[0] for r in conn.execute(sa.text(f"""
        select w.user_id from {p} w
        where w.transaction_created_at >= :start and w.transaction_created_at < :end and w.amount > 0
          and not exists (select 1 from {p} q where q.user_id = w.user_id and q.amount > 0
                          and q.transaction_created_at < :start)
        group by w.user_id
        order by md5(w.user_id::text)"""), params)]
    chosen = new[: _n(inj.magnitude, len(new))]
    if inj.direction == "low":
        _x(conn, f"delete from {p} where user_id = any(:u) and transaction_created_at >= :start "
                 "and transaction_created_at < :end", params | {"u": chosen})
    else:
        base = conn.execute(sa.text(f"select max(user_id) from {p}")).scalar_one() + 10_000_000
        _x(conn, f"""insert into {p} (user_id, transaction_created_at, amount, currency)
            select :base + q.user_id, q.transaction_created_at, q.amount, q.currency from {p} q
            where q.user_id = any(:u) and q.transaction_created_at >= :start and q.transaction_created_at < :end""",
           params | {"u": chosen, "base": base})
    return len(chosen)


def revenue(conn: Connection, src: Source, inj: Injection) -> int:
    p = src.table("payments")
    d = inj.day
    params = {"start": d.start, "end": d.end}
    ids = [r[0] for r in conn.execute(sa.text(
        f"select id from {p} where transaction_created_at >= :start and transaction_created_at < :end "
        "and amount > 0 order by md5(id::text)"), params)]
    chosen = ids[: _n(inj.magnitude, len(ids))]
    if inj.direction == "low":
        _x(conn, f"delete from {p} where id = any(:ids)", {"ids": chosen})
    else:
        _x(conn, f"""insert into {p} (user_id, transaction_created_at, amount, currency)
            select user_id, transaction_created_at + interval '1 second', amount, currency from {p}
            where id = any(:ids)""", {"ids": chosen})
    return len(chosen)


def sessions(conn: Connection, src: Source, cfg: MetricConfig, inj: Injection, channel_of: str) -> int:
    """`channel_of`: SQL of a session `s`'s channel (metrics.channels.channel_sql)."""
    store, web = quote(src.state_schema), src.table("web_events")
    d = inj.day
    scope = scope_name(src, cfg.attribution, d.timezone)
    channel = inj.targets[0].split(".", 1)[1]
    params = {"scope": scope, "day": d.day, "ch": channel} | channel_params(cfg.attribution)
    rows = conn.execute(sa.text(f"""
        select s.skey, s.user_id, s.started_at, s.ended_at from {store}.attribution_sessions s
        where s.scope = :scope and s.local_day = :day and {channel_of} = :ch
        order by md5(s.skey || s.first_event_id::text)"""), params).all()
    chosen = rows[: _n(inj.magnitude, len(rows))]
    # the web rows of a session: its user's own, or its device's (anonymous key)
    own = ("(case when starts_with(:skey, 'u:') then w.user_id = :uid "
           "or w.anonymous_id in (select l.anonymous_id from {store}.attribution_links l "
           "where l.scope = :scope and l.user_id = :uid) else w.anonymous_id = substr(:skey, 3) end)")
    own = own.replace("{store}", store)
    for i, (skey, uid, started, ended) in enumerate(chosen):
        p = {"skey": skey, "uid": uid, "a": started, "b": ended, "scope": scope, "anon": f"bench-spike-{d.day}-{i}"}
        where = f"{own} and w.happened_at >= :a and w.happened_at <= :b"
        if inj.direction == "low":
            _x(conn, f"delete from {web} w where {where}", p)
        else:
            _x(conn, f"""insert into {web} (anonymous_id, user_id, happened_at, event_type, platform, page_url,
                                            referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
                select :anon, null, w.happened_at, w.event_type, w.platform, w.page_url, w.referrer,
                       w.utm_source, w.utm_medium, w.utm_campaign, w.utm_content, w.utm_term
                from {web} w where {where}""", p)
    if inj.direction == "low":  # deleted rows are below the watermark: rebuild the day from scratch
        _x(conn, f"delete from {store}.attribution_sessions where scope = :scope and local_day = :day", params)
        _x(conn, f"delete from {store}.attribution_days where scope = :scope and local_day = :day", params)
    return len(chosen)


def breaches(conn: Connection, src: Source, cfg: MetricConfig, inj: Injection) -> int:
    d = inj.day
    name = inj.targets[0].split(".", 1)[1]
    pipe = next(p for p in cfg.hanging.pipelines if p.name == name)
    sla = timedelta(hours=pipe.sla_hours)
    lo, hi = d.start.astimezone(UTC) - sla, d.end.astimezone(UTC) - sla
    leads = [x for x in hanging.stuck_leads(conn, src, cfg, d) if x.pipeline == name and lo <= x.since < hi]
    leads.sort(key=lambda x: (x.user_id * 2654435761) % 2**32)  # a fixed shuffle
    k = _n(inj.magnitude, len(leads))
    ev = src.table("events")
    ids = event_ids(conn, src, (pipe.start, *pipe.end_events))
    if inj.direction == "low":
        end_id = ids[pipe.end_events[0]][0]
        rows = [{"u": x.user_id, "e": end_id, "t": x.since + sla - timedelta(minutes=1)} for x in leads[:k]]
    else:
        base = conn.execute(sa.text(f"select max(user_id) from {ev}")).scalar_one() + 20_000_000
        span = (hi - lo).total_seconds()
        rows = [{"u": base + i, "e": ids[pipe.start][0], "t": lo + timedelta(seconds=span * (i + 0.5) / max(k, 1))}
                for i in range(k)]
    if rows:
        conn.execute(sa.text(f"insert into {ev} (user_id, event_id, happened_at) values (:u, :e, :t)"), rows)
    return len(rows)
