"""The attribution models: which sessions of a payment's journey get how much of it.

A payment's journey is its user's sessions that started in [paid_at - lookback, paid_at) (the
lookback counted as 24-hour days). The six rule-based models are weights computed in SQL over the
journeys of D's payments; the data-driven model is a Markov chain whose transition counts are
aggregated in SQL and whose removal effects are solved exactly with numpy.
"""
from __future__ import annotations

import numpy as np

from db.source import Source
from metrics.common import also, not_excluded
from metrics.scope import Scope, in_scope

RULE_MODELS = ("last_non_direct", "first_touch", "last_touch", "linear", "position_based", "time_decay")
MARKOV = "markov"
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
DECAY_HALF_LIFE_HOURS = 168.0


def payments_sql(src: Source, scope: Scope | None, excluded: list[int]) -> str:
    """D's payments (payment_id, user_id, paid_at, amount): the rows of `payments_d`."""
    return f"""
    select p.id as payment_id, p.user_id, p.transaction_created_at::timestamptz as paid_at, p.amount
    from {src.table('payments')} p
    where p.transaction_created_at >= :start and p.transaction_created_at < :end
      and p.amount > 0{also(not_excluded(src, "p.user_id", excluded), in_scope(src, scope, "p.user_id"))}"""


def journeys_sql(src: Source, channel_expr: str) -> str:
    """CTEs `touches` and `journeys` (one row per session of each journey of a payment of
    `payments_d`, with its position rn of n and every rule model's weight). `channel_expr` reads
    sessions alias s."""
    sessions = src.state_table("attribution_sessions")
    return f"""
touches as (
    select d.payment_id, d.amount, s.skey, s.started_at, s.first_event_id, {channel_expr} as channel,
           power(0.5::float8, extract(epoch from d.paid_at - s.started_at)::float8 / 3600 / {DECAY_HALF_LIFE_HOURS})
               as decay,
           row_number() over (partition by d.payment_id order by s.started_at, s.first_event_id) as rn,
           count(*) over (partition by d.payment_id) as n
    from payments_d d
    join {sessions} s
      on s.scope = :scope and s.user_id = d.user_id
     and s.started_at >= d.paid_at - make_interval(hours => 24 * :lookback) and s.started_at < d.paid_at
),
journeys as (
    select t.*,
           -- the latest non-Direct touch, else the last (Direct) one
           coalesce(max(t.rn) filter (where t.channel <> 'Direct') over (partition by t.payment_id), t.n)
               as last_non_direct_rn,
           sum(t.decay) over (partition by t.payment_id) as decay_total
    from touches t
)"""


def rule_credits_sql() -> str:
    """Per model and channel: conversions and revenue credited (reads CTE journeys)."""
    return """
select m.model, j.channel, sum(m.weight) as conversions, sum(m.weight * j.amount) as revenue
from journeys j
cross join lateral (values
    ('last_non_direct', case when j.rn = j.last_non_direct_rn then 1.0 else 0.0 end),
    ('first_touch', case when j.rn = 1 then 1.0 else 0.0 end),
    ('last_touch', case when j.rn = j.n then 1.0 else 0.0 end),
    ('linear', 1.0 / j.n),
    ('position_based', case when j.n = 1 then 1.0
                            when j.n = 2 then 0.5
                            when j.rn = 1 or j.rn = j.n then 0.4
                            else 0.2 / (j.n - 2) end),
    ('time_decay', (j.decay / j.decay_total)::numeric)
) as m(model, weight)
where m.weight > 0
group by m.model, j.channel
"""


def session_users_sql(src: Source, scope: Scope | None, excluded: list[int], user_col: str = "s.user_id") -> str:
    """SQL predicate on a session's stitched user: company-wide, anonymous sessions count and
    experiment-flow users' do not; with a scope, only its users' sessions (never anonymous ones).
    '' when it would keep every session (no scope, nothing excluded)."""
    exclusion = not_excluded(src, user_col, excluded)
    if scope is None:
        return f"({user_col} is null or {exclusion})" if exclusion else ""
    return " and ".join(p for p in (in_scope(src, scope, user_col), exclusion) if p)


def markov_transitions_sql(src: Source, channel_expr: str, scope: Scope | None, excluded: list[int]) -> str:
    """Transition counts between states over D's converting journeys and the non-converting ones:
    every stitched key without a payment on D, with its sessions that started in [T - lookback, T)
    (the journey it would have had, had it paid at the cutoff). Reads CTEs payments_d, journeys;
    parameters :day and :idle_from_day (the local days of the window: the store's key ranges)."""
    sessions = src.state_table("attribution_sessions")
    return f"""
, idle as (
    select s.skey, {channel_expr} as channel,
           row_number() over (partition by s.skey order by s.started_at, s.first_event_id) as rn,
           count(*) over (partition by s.skey) as n
    from {sessions} s
    where s.scope = :scope and s.local_day between :idle_from_day and :day
      and s.started_at >= :end - make_interval(hours => 24 * :lookback) and s.started_at < :end
      and (s.user_id is null or s.user_id not in (select user_id from payments_d)){also(session_users_sql(src, scope, excluded))}
),
steps as (
    select 'p' || payment_id as path, rn, channel from journeys
    union all select distinct 'p' || payment_id, n + 1, '{CONVERSION}' from journeys
    union all select 'k' || skey, rn, channel from idle
    union all select distinct 'k' || skey, n + 1, '{NULL}' from idle
),
transitions as (
    select coalesce(lag(channel) over (partition by path order by rn), '{START}') as from_state,
           channel as to_state
    from steps
)
select from_state, to_state, count(*) from transitions group by from_state, to_state
"""


def _conversion_probability(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Absorption probability into CONVERSION from every transient state: (I - Q) x = r."""
    return np.linalg.solve(np.eye(len(q)) - q, r)


def markov_shares(counts: dict[tuple[str, str], int]) -> dict[str, float]:
    """Each channel's removal effect, normalised to shares summing to 1 (empty: no conversions).

    Transient states are START and the channels; CONVERSION and NULL absorb. Removing a channel
    sends every transition into it to NULL, which equals making it absorb into NULL at once.
    """
    channels = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    states = [START, *channels]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    totals: dict[str, int] = {}
    for (a, _), c in counts.items():
        totals[a] = totals.get(a, 0) + c
    for (a, b), c in counts.items():
        p = c / totals[a]
        if b == CONVERSION:
            r[index[a]] += p
        elif b != NULL:
            q[index[a], index[b]] += p
    base = _conversion_probability(q, r)[0] if counts else 0.0
    if base <= 0:
        return {}
    effects = {}
    for ch in channels:
        i = index[ch]
        q2, r2 = q.copy(), r.copy()
        q2[i, :], r2[i] = 0.0, 0.0
        effects[ch] = max(0.0, 1.0 - _conversion_probability(q2, r2)[0] / base)
    total = sum(effects.values())
    return {ch: float(e / total) for ch, e in effects.items() if e > 0} if total > 0 else {}
