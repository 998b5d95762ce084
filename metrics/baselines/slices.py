"""The slices of the money numbers, for their drivers (docs/normal.md): new payers, their
revenue, payments and revenue per day split by channel and by owner, in one SQL statement over
D-back ... D.

- channel: the payment's last non-Direct session's channel among its user's sessions that began in
  the attribution lookback before it (else the last Direct one; "(none)" without any session), as
  the default attribution model credits it. Read from the session store, so only for the days
  the store has built (a day it lacks is no data for every channel: a driver never compares a
  built day with an unbuilt one).
- owner: the user's user_tags tag with the owner prefix ("manager:ivanov"; the first in sort
  order), "(no owner)" without one; only when the source has user_tags.

A payment counts as metrics.new_payers counts it (amount > 0, experiment users left out, the
scope's users only); a new payer is new on the day of their first payment ever.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series, Slice
from metrics.channels import channel_params, channel_sql
from metrics.common import also, excluded_event_ids, not_excluded
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds
from metrics.sessions import SessionStore

NO_SESSION, NO_OWNER = "(none)", "(no owner)"
SLICES = "new_payers:slices"  # their name in the store of finished days (metrics.baselines.store)
FIELDS = ("new_payers", "new_payer_revenue", "payments", "revenue")


def _sql(src: Source, cfg: MetricConfig, channels: bool, owners: bool, scope: Scope | None, excluded: list[int]) -> str:
    payments, sessions = src.table("payments"), src.state_table("attribution_sessions")
    channel = f"""coalesce((
        select {channel_sql(cfg.attribution, "s.ch_source", "s.ch_medium")}
        from {sessions} s
        where s.scope = :store and s.user_id = w.user_id
          and s.started_at >= w.paid_at - make_interval(hours => 24 * :lookback) and s.started_at < w.paid_at
        order by ({channel_sql(cfg.attribution, "s.ch_source", "s.ch_medium")}) <> 'Direct' desc, s.started_at desc
        limit 1), '{NO_SESSION}')""" if channels else "null::text"
    owner = (f"coalesce((select min(g.tag) from {src.table('user_tags')} g where g.user_id = w.user_id "
             f"and starts_with(g.tag, :owner_prefix)), '{NO_OWNER}')") if owners else "null::text"
    return f"""
with window_payments as (
    select p.user_id, (p.transaction_created_at::timestamptz at time zone :tz)::date as day,
           p.transaction_created_at::timestamptz as paid_at, p.amount
    from {payments} p
    where p.transaction_created_at >= :window_start and p.transaction_created_at < :window_end
      and p.amount > 0{also(not_excluded(src, "p.user_id", excluded), in_scope(src, scope, "p.user_id"))}
),
first_in_window as (
    select w.*, w.day = min(w.day) over (partition by w.user_id) as first_day
    from window_payments w
),
tagged as materialized (
    -- new as metrics.new_payers marks it: no join that a planner without statistics could nest;
    -- materialized, so that the three aggregates below do not each run the probe
    select w.day, w.user_id, w.amount,
           case when w.first_day then not exists (
               select 1 from {payments} q
               where q.user_id = w.user_id and q.amount > 0 and q.transaction_created_at < :window_start
           ) else false end as new,
           case when w.day = any(:built) then {channel} end as channel, {owner} as owner
    from first_in_window w
)
select day, channel, owner,
       count(distinct user_id) filter (where new), coalesce(sum(amount) filter (where new), 0),
       count(*) filter (where new), count(*), sum(amount)
from tagged
group by grouping sets ((day, channel), (day, owner))
"""


def payer_slices(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
                 back: int) -> list[Series]:
    """The slices as series of their own (key "<dimension>|<key>", so the store keeps them like
    any number; `as_slices` turns them back)."""
    # channels come from the session store: none without it (a state schema never migrated)
    channels = src.has("web_events") and conn.execute(
        sa.text("select to_regclass(:t)"), {"t": src.state_table("attribution_days")}).scalar() is not None
    owners = src.has("user_tags")
    if not channels and not owners:
        return []
    days = [day.day - timedelta(days=back - i) for i in range(back + 1)]
    sessions = SessionStore(src, cfg.attribution, day.timezone)
    store = sessions.scope
    built = sorted(set(days) - set(sessions.missing_days(conn, days))) if channels else []
    params = {"tz": day.timezone, "window_start": day.midnight(days[0]), "window_end": day.end,
              "excluded_ids": excluded_event_ids(conn, src, cfg), "store": store, "built": built,
              "lookback": cfg.attribution.lookback_days, "owner_prefix": cfg.hanging.owner_prefix,
              } | channel_params(cfg.attribution) | scope_binds(conn, src, scope)
    parts: dict[tuple[str, str, str], dict[date, float]] = {}
    counts: dict[tuple[str, str, str], dict[date, float]] = {}
    sql = _sql(src, cfg, channels, owners, scope, params["excluded_ids"])
    for d, ch, owner, new, new_rev, new_n, n, rev in conn.execute(sa.text(sql), params):
        dim, key = ("channel", ch) if owner is None else ("owner", owner)
        if key is None:
            continue  # a day without built sessions: no channel
        for field, v in zip(FIELDS, (new, new_rev, n, rev), strict=True):
            parts.setdefault((field, dim, key), {})[d] = float(v)
        counts.setdefault(("new_payer_revenue", dim, key), {})[d] = float(new_n)
        counts.setdefault(("revenue", dim, key), {})[d] = float(n)
    first = conn.execute(sa.text(f"select min(transaction_created_at)::timestamptz from {src.table('payments')}")
                         ).scalar_one()
    first_day = None if first is None else first.astimezone(day.tz).date()
    known = {"channel": frozenset(built), "owner": None}
    return [Series("new_payers", f"{dim}|{key}", field, first_day, values, known=known[dim],
                   counts=counts.get((field, dim, key)))
            for (field, dim, key), values in sorted(parts.items())]


def as_slices(series: list[Series]) -> dict[str, tuple[Slice, ...]]:
    """field -> its slices, from payer_slices' series."""
    out: dict[str, list[Slice]] = {}
    for s in series:
        dim, key = (s.key or "|").split("|", 1)
        out.setdefault(s.field, []).append(Slice(dim, key, s.values, known=s.known))
    return {f: tuple(v) for f, v in out.items()}
