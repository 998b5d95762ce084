"""Campaign performance: what the outbound messages of day D (or of the N days ending D) brought.

Definitions (docs/metrics.md), with the choices the design leaves open:
- The sends reported on are those with `sent_at` in the period [start, T). `total` counts them
  all; `sent`, `blocked` and `failed` count the three statuses (they add up to `total` unless the
  table holds some other status). A blocked send without a reason counts under "unknown".
- Everything read — interactions, web events, payments, device links — is cut off at T, so a
  past day re-computed later gives the same numbers it gave on the morning after.
- Opened send: any open or click on it. Human click: a click whose user has a web event in
  [click - 2 min, click + 5 min], both ends included. The user's web events are the rows with
  that `user_id`, plus anonymous rows (no `user_id`) of a device whose latest link before T is
  that user — the stitching rule of channel attribution.
- Conversion window: half-open, [interaction, interaction + 24 h): a payment at exactly +24 h
  does not count, one at the interaction's own instant does. A payment (amount > 0) goes to the
  send with the latest human click in that window among ALL the user's sends, else to the send
  with the latest open or click (a scanner click is still evidence of an open). Only credits
  that land on the period's sends are reported: a payment whose latest click is on an older send
  belongs to that send, not to the period. Older sends are looked for among sends sent within
  RIVAL_LOOKBACK_DAYS before the period (an index on message_sends (user_id, sent_at), where it
  exists, turns that range scan into per-user probes).
- Cost: a send's own `cost` whatever its status (the table says it was paid), else the
  channel's configured fee for sends with status `sent` only (blocked and failed messages never
  reached the provider), else 0. ROAS = revenue / cost, None when the cost is 0.
- Users of the experiment flows are left out entirely (their sends are not counted).
- Without a web_events table no click can be shown to be human: human clicks and click
  conversions are then 0 and `human_clicks_checked` is False, so the digest can say why.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from db.sql import compose, steps
from metrics.common import also, excluded_event_ids, money, not_excluded, ratio
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope, in_scope, scope_binds

# How far before the period an older send may have been sent and still out-rank a period send
# for a payment (its click or open must still fall in the 24 h before the payment).
RIVAL_LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class CampaignRow:
    channel: str
    campaign: str | None  # None on the per-channel rows
    sent: int
    blocked: int
    blocked_by_reason: dict[str, int]
    failed: int
    opens: int
    human_clicks: int
    open_conversions: int
    click_conversions: int
    revenue: float
    cost: float
    roas: float | None  # None when cost is 0
    total: int = 0  # every send of the period, whatever its status


@dataclass(frozen=True)
class CampaignResult:
    report_date: date
    channels: list[CampaignRow] = field(default_factory=list)
    campaigns: list[CampaignRow] = field(default_factory=list)
    period_start: date | None = None  # first day of the period; == report_date for one day
    days: int = 1
    human_clicks_checked: bool = True  # False when there is no web_events table


def human_click(src: Source, end: str = ":end") -> str:
    """SQL predicate on a touch `t` (user_id, kind, at): a click with web activity around it,
    reading web events before `end` (a bind parameter, or a column: the baselines' daily series).

    The direct probe uses the (user_id, happened_at) index; the device probe only runs for clicks
    the direct one did not prove (OR short-circuits), e.g. mail scanners, whose users mostly have
    little web history to look through.
    """
    if not src.has("web_events"):
        return "false"
    web = src.table("web_events")
    around = f"w.happened_at >= t.at - :before and w.happened_at <= t.at + :after and w.happened_at < {end}"
    return f"""t.kind = 'click' and (
        exists (select 1 from {web} w where w.user_id = t.user_id and {around})
        or exists (
            select 1
            from (select distinct d.anonymous_id from {web} d
                  where d.user_id = t.user_id and d.anonymous_id is not null
                    and d.happened_at < {end}) dev
            join {web} w on w.anonymous_id = dev.anonymous_id and {around}
            where w.user_id is null
              and (select l.user_id from {web} l
                   where l.anonymous_id = dev.anonymous_id and l.user_id is not null
                     and l.happened_at < {end}
                   order by l.happened_at desc limit 1) = t.user_id
        ))"""


def touches_of_sends_sql(touches: str) -> str:
    """The opens and clicks before :end of each send `s`, joined laterally: a per-send probe of the
    (send_id, happened_at) index; `offset 0` keeps the planner from hashing the whole interactions
    history instead once the day has many sends."""
    return f"""cross join lateral (
        select i.send_id, i.kind, i.happened_at::timestamptz as at
        from {touches} i
        where i.send_id = s.id and i.happened_at < :end and i.kind in ('open', 'click')
        offset 0
    ) i"""


def _sql(src: Source, scope: Scope | None = None, excluded: Sequence[int] = (), until: str | None = None) -> str:
    """The metric's query, composed of the named steps of campaigns.sql (`until`: up to that step;
    `excluded`: the ids of `excluded_event_ids`, none by default)."""
    fragments = {
        "sends": src.table("message_sends"),
        "touches": src.table("message_interactions"),
        "payments": src.table("payments"),
        "filters": also(not_excluded(src, "s.user_id", excluded), in_scope(src, scope, "s.user_id")),
        "touches_of_sends": touches_of_sends_sql(src.table("message_interactions")),
        "human_click": human_click(src),
    }
    return compose(steps("metrics.campaigns", "campaigns.sql"), fragments, until)


def _row(r) -> CampaignRow:
    """One row of the query (a channel and campaign) as typed numbers."""
    revenue, cost = float(r.revenue), float(r.cost)
    return CampaignRow(
        channel=r.channel, campaign=r.campaign, sent=int(r.sent), blocked=int(r.blocked),
        blocked_by_reason=dict(sorted((str(k), int(v)) for k, v in r.by_reason.items())), failed=int(r.failed),
        opens=int(r.opens), human_clicks=int(r.human_clicks), open_conversions=int(r.open_conversions),
        click_conversions=int(r.click_conversions), revenue=money(revenue), cost=round(cost, 4),
        roas=ratio(revenue, cost), total=int(r.total),
    )


def _channel_totals(campaigns: list[CampaignRow]) -> list[CampaignRow]:
    """Every per-campaign number is a count or sum over sends, so a channel row is their sum."""
    out: dict[str, CampaignRow] = {}
    for r in campaigns:
        prev = out.get(r.channel)
        if prev is None:
            out[r.channel] = replace(r, campaign=None)
            continue
        reasons = dict(prev.blocked_by_reason)
        for k, v in r.blocked_by_reason.items():
            reasons[k] = reasons.get(k, 0) + v
        revenue, cost = prev.revenue + r.revenue, prev.cost + r.cost
        out[r.channel] = replace(
            prev, sent=prev.sent + r.sent, blocked=prev.blocked + r.blocked,
            blocked_by_reason=dict(sorted(reasons.items())), failed=prev.failed + r.failed,
            opens=prev.opens + r.opens, human_clicks=prev.human_clicks + r.human_clicks,
            open_conversions=prev.open_conversions + r.open_conversions,
            click_conversions=prev.click_conversions + r.click_conversions,
            revenue=money(revenue), cost=round(cost, 4), roas=ratio(revenue, cost), total=prev.total + r.total,
        )
    return [out[k] for k in sorted(out)]


def params(src: Source, cfg: MetricConfig, day: ReportDay, days: int = 1) -> dict:
    """Bind parameters of the main query (public so the benchmark can EXPLAIN the same query)."""
    c = cfg.campaigns
    start = day.midnight(day.day - timedelta(days=days - 1))
    fees = sorted(c.channel_fees.items())
    return {
        "start": start,
        "end": day.end,
        "rival_start": start - timedelta(days=RIVAL_LOOKBACK_DAYS),
        "before": timedelta(seconds=c.click_web_before_seconds),
        "after": timedelta(seconds=c.click_web_after_seconds),
        "conversion": timedelta(hours=c.conversion_hours),
        "fee_channels": [k for k, _ in fees],
        "fee_values": [v for _, v in fees],
    }


def compute(
    conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, days: int = 1, scope: Scope | None = None
) -> CampaignResult:
    """Campaign performance of the sends of the `days` days ending D (one day by default).

    A period is not the sum of its days: its interactions and payments count up to the period's
    end, and a payment is credited once across the whole period.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    # A scope keeps its users' sends; everything else follows from those sends' users.
    excluded = excluded_event_ids(conn, src, cfg)
    bind = params(src, cfg, day, days) | {"excluded_ids": excluded} | scope_binds(conn, src, scope)
    rows = conn.execute(sa.text(_sql(src, scope, excluded)), bind).all()
    campaigns = [_row(r) for r in rows]
    return CampaignResult(
        report_date=day.day,
        channels=_channel_totals(campaigns),
        campaigns=campaigns,
        period_start=day.day - timedelta(days=days - 1),
        days=days,
        human_clicks_checked=src.has("web_events"),
    )
