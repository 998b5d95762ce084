"""Attribution: which local days of a scope's session store are built.

Until now a scope was built over all of history at its first use. From here on the store is
built per local day (the report's window first, older days on demand or by
`salespulse sessions backfill`): a row (scope, local_day) says that every session of that day is
in attribution_sessions, complete as of the scope's watermark (attribution_scopes.last_event_id).
The incremental update only recomputes (key, day) pairs of built days; a day that is not built
is built from web_events when a report first needs it. The Postgres and the Spark builders both
write these rows.

Stores built before this migration were built over all of history: each day that has sessions
is marked built (a day without sessions has no events, and building it later costs nothing).

Revision ID: 0003
"""
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".attribution_days (
        scope      text not null,
        local_day  date not null,
        built_at   timestamptz not null default now(),
        primary key (scope, local_day)
    );
    insert into "{schema}".attribution_days (scope, local_day)
    select distinct scope, local_day from "{schema}".attribution_sessions;
    """)
