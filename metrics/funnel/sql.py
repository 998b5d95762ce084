"""The funnel's SQL, in one place: the cohort with its per-step reached times, and its events.

Steps come from configuration, so the query is assembled per step: step 1 is a range scan of the
cohort window (event_id, happened_at index); the first-ever check (cohort "first") and every later step are
per-user probes of the (user_id, happened_at) indexes, one LATERAL per step, each bounded by the
time the previous step was reached, the conversion window and the cutoff T.
"""
from __future__ import annotations

from db.source import Source
from metrics.common import also, not_excluded, where
from metrics.config import PURCHASE
from metrics.scope import Scope, in_scope


def _step_rows(src: Source, step: str, k: int, alias: str) -> tuple[str, str]:
    """(`from ... where` text without time bounds, time column) of step k's occurrences."""
    if step == PURCHASE:
        return (
            f"from {src.table('payments')} {alias} where {alias}.amount > 0",
            f"{alias}.transaction_created_at",
        )
    return (
        f"from {src.table('events')} {alias} where {alias}.event_id = any(:s{k}_ids)",
        f"{alias}.happened_at",
    )


def _earlier_step_1(src: Source, steps: tuple[str, ...], cohort: str) -> str:
    """The cohort "first" leaves out users with a step 1 before the window: a per-user probe, not
    a scan of history (LATERAL ... LIMIT 1, unlike NOT EXISTS, cannot become a hash join over all
    history). The cohort "window" keeps them: no probe at all."""
    if cohort == "window":
        return ""
    prior_rows, prior_ts = _step_rows(src, steps[0], 1, "x")
    return f"""
    left join lateral (
        select 1 as found {prior_rows}
          and x.user_id = f.user_id and {prior_ts} < :cohort_start
        limit 1
    ) earlier on true
    where earlier.found is null"""


def reach_sql(src: Source, steps: tuple[str, ...], scope: Scope | None, cohort: str, excluded: list[int]) -> str:
    """One row per cohort user: user_id, then the instant each step was reached (null if not).
    `cohort`: "first" (first-ever step 1 in the window) or "window" (any step 1 in it)."""
    first_rows, first_ts = _step_rows(src, steps[0], 1, "e")
    earlier = _earlier_step_1(src, steps, cohort)
    exclusion = not_excluded(src, "f.user_id", excluded)
    laterals, columns = [], ["c.user_id", "c.reached_1"]
    for k in range(2, len(steps) + 1):
        rows, ts = _step_rows(src, steps[k - 1], k, "x")
        prev = "c.reached_1" if k == 2 else f"r{k - 1}.reached_at"
        laterals.append(
            f"""left join lateral (
    -- step {k}: the first occurrence at or after step {k - 1} was reached, inside the window
    select min({ts}::timestamptz) as reached_at
    {rows}
      and x.user_id = c.user_id
      and {ts} >= {prev}
      and {ts} < least(c.reached_1 + make_interval(hours => :conversion_hours), :cutoff)
) r{k} on true"""
        )
        columns.append(f"r{k}.reached_at")
    lateral_text = "\n".join(laterals)
    return f"""
with first_in_window as (
    -- step 1 inside the cohort window
    select e.user_id, min({first_ts}::timestamptz) as reached_1
    {first_rows}
      and {first_ts} >= :cohort_start and {first_ts} < :cutoff{also(in_scope(src, scope, "e.user_id"))}
    group by e.user_id
),
cohort as (
    -- t1 = the first step 1 in the window; the cohort "first" also wants nothing earlier
    select f.user_id, f.reached_1
    from first_in_window f{earlier}
    {also(exclusion) if earlier else where(exclusion)}
)
select {", ".join(columns)}
from cohort c
{lateral_text}
order by c.user_id
"""


def cohort_events_sql(src: Source) -> str:
    """Every event (and payment, as `purchase`) of the given users in their conversion window."""
    events, names, payments = src.table("events"), src.table("events_dict"), src.table("payments")
    # `offset 0` keeps each LATERAL a per-user index probe (an optimisation fence): a plain join
    # lets the planner hash the whole payments history when it misjudges the cohort's size.
    purchases = (
        f"""
union all
select c.user_id, '{PURCHASE}' as event, p.happened_at
from cohort c
cross join lateral (
    select p.transaction_created_at::timestamptz as happened_at
    from {payments} p
    where p.user_id = c.user_id and p.amount > 0
      and p.transaction_created_at >= c.reached_1
      and p.transaction_created_at < least(c.reached_1 + make_interval(hours => :conversion_hours), :cutoff)
    offset 0
) p"""
        if src.has("payments")
        else ""
    )
    return f"""
with cohort as (
    select u.user_id, u.reached_1
    from unnest(cast(:user_ids as bigint[]), cast(:reached_1 as timestamptz[])) as u(user_id, reached_1)
)
select c.user_id, d.description as event, x.happened_at
from cohort c
cross join lateral (
    select x.event_id, x.happened_at::timestamptz as happened_at
    from {events} x
    where x.user_id = c.user_id
      and x.happened_at >= c.reached_1
      and x.happened_at < least(c.reached_1 + make_interval(hours => :conversion_hours), :cutoff)
    offset 0
) x
join {names} d on d.id = x.event_id{purchases}
order by 1, 3, 2
"""
