"""`salespulse seed --targets`: a plausible plan for the seeded months and weeks (docs/plan.md),
into the optional `targets` table (created when absent; the rows of the periods seeded are
replaced, so seeding again gives the same plan).

A head of sales plans a period from what the business did: here each period's plan is its own
seeded pace (the days seeded, scaled to the whole period) times a factor drawn between 0.9 and
1.15, deterministic for the seed, so some months are beaten and some missed. Plans: revenue,
new payers and payments of each month, revenue of each ISO week, and each team's monthly revenue.
Counted in UTC days, simply (all payments above zero): a plan is a target, not a number to match.
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.source import create_targets_table
from db.sql import qualified

_ACTUALS = """
with p as (
    select user_id, amount, (transaction_created_at::timestamptz at time zone 'UTC')::date as day
    from {payments} where amount > 0
),
first_paid as (select user_id, min(day) as day from p group by user_id),
teams as (select user_id, min(tag) as team from {tags} where starts_with(tag, 'team:') group by user_id)
select date_trunc(:unit, p.day)::date as start, t.team, sum(p.amount)::float8 as revenue, count(*) as payments,
       count(distinct p.user_id) filter (where f.day = p.day) as new_payers
from p left join first_paid f on f.user_id = p.user_id left join teams t on t.user_id = p.user_id
where p.day >= :first and p.day < :end
group by grouping sets ((1), (1, 2))
"""


def _period_days(unit: str, start: date) -> int:
    if unit == "week":
        return 7
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return (nxt - start).days


def add_targets(engine: Engine, schema: str, first: date, days: int, seed: int = 42) -> int:
    """The plans of every month and week that the seeded days touch; how many rows."""
    end = first + timedelta(days=days)
    rows: list[dict] = []
    with engine.begin() as conn:
        create_targets_table(conn, schema)
        sql = _ACTUALS.format(payments=qualified(schema, "payments"), tags=qualified(schema, "user_tags"))
        for unit in ("month", "week"):
            for start, team, revenue, payments, new_payers in conn.execute(
                    sa.text(sql), {"unit": unit, "first": first, "end": end}):
                if unit == "week" and team is not None:
                    continue
                total = _period_days(unit, start)
                seeded = (min(end, start + timedelta(days=total)) - max(first, start)).days
                rng = np.random.default_rng([seed, start.toordinal(), len(team or "")])
                scale = total / seeded * float(rng.uniform(0.9, 1.15))
                plans = {"revenue": revenue} if unit == "week" or team else {
                    "revenue": revenue, "new_payers": new_payers, "payments": payments}
                for metric, actual in plans.items():
                    value = float(actual) * scale
                    rows.append({"s": start, "p": unit, "m": metric, "sc": team,
                                 "v": round(value, -3) if metric == "revenue" else round(value)})
        table = qualified(schema, "targets")
        conn.execute(sa.text(f"delete from {table} where period_start >= :a and period_start < :b"),
                     {"a": first - timedelta(days=first.weekday()), "b": end})
        if rows:
            conn.execute(sa.text(f"insert into {table} (period_start, period, metric, scope, value) "
                                 "values (:s, :p, :m, :sc, :v)"), rows)
    return len(rows)
