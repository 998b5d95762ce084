"""Attribution sessions keyed by day first: (scope, local_day, skey, first_event_id).

A store is written a whole day at a time (a report's window, the backfill). With the key led by
skey, a day's ~35k sessions landed on leaf pages spread over the whole index; led by the day they
land on a few neighbouring pages, which roughly halved the cost of writing a day (bench/README.md,
issue 11). The incremental update's probes give both scope, skey and local_day, so they use the
new key as well as the old.

Revision ID: 0008
"""
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".attribution_sessions drop constraint attribution_sessions_pkey;
    alter table "{schema}".attribution_sessions add primary key (scope, local_day, skey, first_event_id);
    """)


def downgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".attribution_sessions drop constraint attribution_sessions_pkey;
    alter table "{schema}".attribution_sessions add primary key (scope, skey, local_day, first_event_id);
    """)
