"""Baselines: the checked numbers of finished days, so a digest reads 12 weeks of history from
here and computes only the days it lacks and the last week (metrics.baselines.store).

A *store* names one set of numbers: source schema, report time zone, scope, and a hash of the
metric configuration they were computed with (a changed pipeline or funnel step is a new store,
never a mix). One row per (store, metric, day): every number of that metric on that day, as
JSON, and when it was computed.

Revision ID: 0012
"""
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".baseline_days (
        store        text not null,
        metric       text not null,
        day          date not null,
        numbers      jsonb not null,   -- [[key, field, value, denominator, numerator, count], ...]
        computed_at  timestamptz not null default now(),
        primary key (store, metric, day)
    );
    """)


def downgrade(schema: str) -> None:
    op.execute(f'drop table "{schema}".baseline_days')
