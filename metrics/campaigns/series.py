"""The campaigns' checked numbers (NUMBERS) per send channel, day by day over D-back ... D: sends,
the share blocked, and the conversion rate as metrics.campaigns credits a payment: a payment on day
d can only go to a touch in the 24 h before it, and counts for day d's report when its winning
touch (latest human click, else latest open or click, among the user's sends of [d - 7, d]) is on
a send of day d. The fragments are the metric's own (metrics.campaigns); a day's numbers equal the
metric's report of that day (tests/test_baselines_db.py compares them day by day).
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.baselines import Series
from metrics.baselines.days import first_day, window
from metrics.campaigns import RIVAL_LOOKBACK_DAYS, human_click, params, touches_of_sends_sql
from metrics.checked import COUNT, RATE, SEND_CHANNEL, Number
from metrics.common import also, excluded_event_ids, not_excluded
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

NUMBERS = (
    Number("campaigns", "conversion_rate", RATE, 2, key=SEND_CHANNEL, total=False, target="conversions",
           share_of="total"),
    Number("campaigns", "block_share", RATE, 2, key=SEND_CHANNEL, total=False, share_of="total"),
    Number("campaigns", "total", COUNT, 1, key=SEND_CHANNEL, total=False, target="sends"),
)
CONVERSION_RATE, BLOCK_SHARE, SENDS = NUMBERS


def _campaigns_sql(src: Source, scope: Scope | None, excluded: list[int]) -> str:
    sends, touches, payments = src.table("message_sends"), src.table("message_interactions"), src.table("payments")
    return f"""
with sends_w as (
    select s.id, s.user_id, s.channel, s.status, (s.sent_at::timestamptz at time zone :tz)::date as day
    from {sends} s
    where s.sent_at >= :rival_start and s.sent_at < :end{also(not_excluded(src, "s.user_id", excluded), in_scope(src, scope, "s.user_id"))}
),
counts as (
    select day, channel, count(*) as total,
           count(*) filter (where status = 'sent') as sent,
           count(*) filter (where status = 'blocked') as blocked
    from sends_w where day >= :first group by day, channel
),
touches_w as (
    -- each send's touches, probed as metrics.campaigns reads them
    select i.send_id, s.user_id, s.channel, s.day as send_day, i.kind, i.at
    from sends_w s
    {touches_of_sends_sql(touches)}
),
payments_w as (
    select p.id, p.user_id, p.transaction_created_at::timestamptz as paid_at,
           (p.transaction_created_at::timestamptz at time zone :tz)::date as pay_day
    from (select distinct user_id from touches_w) u
    join {payments} p on p.user_id = u.user_id
     and p.transaction_created_at >= :start and p.transaction_created_at < :end
    where p.amount > 0
),
ranked as (
    select p.id, p.pay_day, t.send_day, t.channel,
           row_number() over (partition by p.id order by {human_click(src, "p.day_end")} desc,
                                                         t.at desc, t.send_id desc) as rank
    from (select pw.*, ((pw.pay_day + 1)::timestamp at time zone :tz) as day_end
          from payments_w pw where pw.pay_day >= :first) p
    join touches_w t on t.user_id = p.user_id
     and t.at <= p.paid_at and t.at > p.paid_at - :conversion
     and t.send_day between p.pay_day - 7 and p.pay_day
),
credits as (
    select pay_day as day, channel, count(*) as conversions
    from ranked where rank = 1 and send_day = pay_day group by pay_day, channel
)
select c.day, c.channel, c.total, c.sent, c.blocked, coalesce(r.conversions, 0)
from counts c left join credits r using (day, channel)
"""


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None,
           back: int) -> list[Series]:
    """Per send channel, day by day over D-back ... D: sends, block share and conversion rate."""
    days = window(day, back)
    bind = params(src, cfg, day) | {
        "tz": day.timezone, "first": days[0], "start": day.midnight(days[0]),
        "rival_start": day.midnight(days[0] - timedelta(days=RIVAL_LOOKBACK_DAYS)),
        "excluded_ids": excluded_event_ids(conn, src, cfg),
    } | scope_binds(conn, src, scope)
    first = first_day(conn, src, "message_sends", "sent_at", day)
    per: dict[str, dict[str, dict[date, float]]] = {}
    for d, ch, total, sent, blocked, conv in conn.execute(sa.text(_campaigns_sql(src, scope, bind["excluded_ids"])), bind):
        c = per.setdefault(ch, {k: {} for k in ("total", "sent", "blocked", "conv")})
        c["total"][d], c["sent"][d], c["blocked"][d], c["conv"][d] = float(total), float(sent), float(blocked), float(conv)
    out = []
    for ch in sorted(per):
        c = per[ch]
        out.append(Series("campaigns", ch, "total", first, c["total"], number=SENDS))
        out.append(Series("campaigns", ch, "block_share", first,
                          {d: round(c["blocked"][d] / n, 4) for d, n in c["total"].items() if n}, c["total"],
                          numerators=c["blocked"], number=BLOCK_SHARE))
        out.append(Series("campaigns", ch, "conversion_rate", first,
                          {d: round(c["conv"][d] / n, 4) for d, n in c["sent"].items() if n}, c["sent"],
                          numerators=c["conv"], number=CONVERSION_RATE))
    return out
