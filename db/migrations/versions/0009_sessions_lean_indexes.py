"""Attribution sessions with two indexes instead of three: no (scope, started_at), and the user
index only over sessions that have a user.

Writing a day of sessions cost more in index upkeep than in the rows themselves (issue 11: a day
of 35k sessions took ~0.67 s to write with three indexes, 0.44-0.48 s with these two, 0.12-0.15 s
with none; bench/README.md).
Every range read of the store is a range of local days, which the primary key (scope, local_day,
...) already serves, so readers say the days (they still say the exact started_at bounds too).
Every read by user asks for a given user_id, so anonymous sessions (about 45%) need no entry.

Revision ID: 0009
"""
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade(schema: str) -> None:
    op.execute(f"""
    drop index "{schema}".attribution_sessions_started;
    drop index "{schema}".attribution_sessions_user;
    create index attribution_sessions_user on "{schema}".attribution_sessions (scope, user_id, started_at)
        where user_id is not null;
    """)


def downgrade(schema: str) -> None:
    op.execute(f"""
    drop index "{schema}".attribution_sessions_user;
    create index attribution_sessions_user on "{schema}".attribution_sessions (scope, user_id, started_at);
    create index attribution_sessions_started on "{schema}".attribution_sessions (scope, started_at);
    """)
