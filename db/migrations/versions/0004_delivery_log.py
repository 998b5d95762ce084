"""Delivery ledger as a state machine: a 'waiting' state, retry bookkeeping, an append-only log
of every transition, and the outages the admins were told about.

A delivery that failed for a passing reason (database down, Telegram unreachable) waits in
'waiting' until next_attempt_at; it still holds the (chat, day) slot, so the partial unique
index now covers it too. delivery_log is written in the same transaction as every state change
(never updated), so /status can say why a digest did not arrive. delivery_outages remembers what
the admins were told (delayed / given up) so a restart does not tell them twice.

Revision ID: 0004
"""
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".deliveries drop constraint if exists deliveries_state_check;
    alter table "{schema}".deliveries add constraint deliveries_state_check
        check (state in ('working', 'waiting', 'sent', 'failed', 'skipped'));
    alter table "{schema}".deliveries
        add column attempts        integer not null default 0,
        add column next_attempt_at timestamptz,
        add column failing_since   timestamptz,
        add column last_error      text;
    drop index "{schema}".deliveries_once;
    create unique index deliveries_once on "{schema}".deliveries (chat_id, report_date)
        where state in ('working', 'waiting', 'sent');
    create index deliveries_open on "{schema}".deliveries (state) where state in ('working', 'waiting');

    create table "{schema}".delivery_log (
        id           bigserial primary key,
        delivery_id  bigint not null,
        chat_id      bigint not null,
        report_date  date not null,
        from_state   text,
        to_state     text not null,
        at           timestamptz not null default now(),
        by_owner     text,
        part         integer,
        reason       text
    );
    create index delivery_log_chat on "{schema}".delivery_log (chat_id, id);

    create table "{schema}".delivery_outages (
        id          bigserial primary key,
        started_at  timestamptz not null,
        cause       text,
        delayed_told_at timestamptz,
        failed_told_at  timestamptz,
        ended_at    timestamptz
    );
    -- One open outage at a time: every failure while it lasts belongs to it.
    create unique index delivery_outages_open on "{schema}".delivery_outages ((true))
        where ended_at is null;
    """)
