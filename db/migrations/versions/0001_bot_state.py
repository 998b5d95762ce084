"""Bot state: subscriptions and the delivery ledger (one row per chat, day and run).

Revision ID: 0001
"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".subscriptions (
        chat_id        bigint primary key,
        chat_title     text,
        active         boolean not null default true,
        delivery_time  time not null,
        timezone       text not null,
        locale         text,
        created_by     bigint,
        created_at     timestamptz not null default now(),
        updated_at     timestamptz not null default now(),
        deactivated_reason text
    );
    create table "{schema}".deliveries (
        id            bigserial primary key,
        chat_id       bigint not null,
        report_date   date not null,
        scheduled_for timestamptz not null,
        started_at    timestamptz not null default now(),
        finished_at   timestamptz,
        state         text not null check (state in ('working', 'sent', 'failed', 'skipped')),
        -- How many parts (messages / albums / documents) reached Telegram: a run that was killed
        -- mid-delivery resumes after the last part recorded here instead of starting over.
        parts_sent    integer not null default 0,
        -- The process that owns a working row; a different owner means the run was interrupted.
        owner         text,
        resumed       integer not null default 0,
        error         text
    );
    -- At most one digest per chat and day: only one working-or-sent row may exist.
    create unique index deliveries_once on "{schema}".deliveries (chat_id, report_date)
        where state in ('working', 'sent');
    create index deliveries_chat_date on "{schema}".deliveries (chat_id, report_date);
    """)
