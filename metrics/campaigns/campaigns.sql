-- The campaigns metric (metrics/campaigns/__init__.py, whose docstring has the definitions) as named steps:
-- each step is one CTE reading the steps above it; the last is the query's result. db.sql.compose
-- joins them; compose(..., until="step") reads any step on its own.
-- {placeholders} are SQL the code builds: quoted tables {sends}, {touches}, {payments}; predicates
-- {filters} (the exclusion and the scope as `and ...` lines, empty when neither applies), {human_click};
-- the per-send probe {touches_of_sends}.
-- Bind parameters: :start, :end, :rival_start, :before, :after, :conversion, :fee_channels,
-- :fee_values, :excluded_ids and, with a scope, :scope_users.

-- step: fees (channel, fee)
select * from unnest(cast(:fee_channels as text[]), cast(:fee_values as numeric[]))

-- step: period_sends
select s.id, s.user_id, s.channel, s.campaign, s.status,
       coalesce(nullif(btrim(s.block_reason), ''), 'unknown') as reason,
       coalesce(s.cost, case when s.status = 'sent' then f.fee end, 0) as cost
from {sends} s
left join fees f on f.channel = lower(s.channel)
where s.sent_at >= :start and s.sent_at < :end{filters}

-- step: period_touches
select i.send_id, s.user_id, i.kind, i.at, true as in_period
from period_sends s
{touches_of_sends}

-- step: touched_users
select user_id, min(at) as first_at from period_touches group by user_id

-- step: candidate_payments
-- the only payments a period send can be credited with: after one of its touches, before T
select p.id, p.user_id, p.transaction_created_at::timestamptz as paid_at, p.amount
from touched_users u
join {payments} p on p.user_id = u.user_id
 and p.transaction_created_at >= u.first_at and p.transaction_created_at < :end
where p.amount > 0

-- step: paying_users
select user_id, min(paid_at) as first_paid_at from candidate_payments group by user_id

-- step: rival_touches
-- touches on the same users' older sends that may out-rank a period send for a payment
select i.send_id, s.user_id, i.kind, i.happened_at::timestamptz as at, false as in_period
from paying_users u
join {sends} s on s.user_id = u.user_id and s.sent_at >= :rival_start and s.sent_at < :start
join {touches} i on i.send_id = s.id
 and i.happened_at > u.first_paid_at - :conversion and i.happened_at < :end
where i.kind in ('open', 'click')

-- step: judged_touches
select t.send_id, t.user_id, t.at, t.in_period, {human_click} as human
from (select * from period_touches union all select * from rival_touches) t

-- step: ranked_credits
-- per payment: the latest human click in the window, else the latest open or click
select p.id as payment_id, p.amount, j.send_id, j.in_period, j.human as by_click,
       row_number() over (partition by p.id order by j.human desc, j.at desc, j.send_id desc) as rank
from candidate_payments p
join judged_touches j on j.user_id = p.user_id
 and j.at <= p.paid_at and j.at > p.paid_at - :conversion

-- step: send_credits
select send_id,
       count(*) filter (where not by_click) as open_conversions,
       count(*) filter (where by_click) as click_conversions,
       sum(amount) as revenue
from ranked_credits
where rank = 1 and in_period
group by send_id

-- step: send_touches
select send_id, bool_or(human) as human_clicked
from judged_touches where in_period group by send_id

-- step: blocked_reasons
select channel, campaign, jsonb_object_agg(reason, n) as by_reason
from (select channel, campaign, reason, count(*) as n
      from period_sends where status = 'blocked' group by channel, campaign, reason) r
group by channel, campaign

-- step: per_campaign
select s.channel, s.campaign,
       count(*) as total,
       count(*) filter (where s.status = 'sent') as sent,
       count(*) filter (where s.status = 'blocked') as blocked,
       count(*) filter (where s.status = 'failed') as failed,
       count(t.send_id) as opens,
       count(*) filter (where t.human_clicked) as human_clicks,
       coalesce(sum(c.open_conversions), 0) as open_conversions,
       coalesce(sum(c.click_conversions), 0) as click_conversions,
       coalesce(sum(c.revenue), 0) as revenue,
       sum(s.cost) as cost
from period_sends s
left join send_touches t on t.send_id = s.id
left join send_credits c on c.send_id = s.id
group by s.channel, s.campaign

-- step: report
select pc.channel, pc.campaign, pc.total, pc.sent, pc.blocked, pc.failed, pc.opens, pc.human_clicks,
       pc.open_conversions, pc.click_conversions, pc.revenue, pc.cost,
       coalesce(r.by_reason, '{}'::jsonb) as by_reason
from per_campaign pc
left join blocked_reasons r using (channel, campaign)
order by pc.channel, pc.campaign
