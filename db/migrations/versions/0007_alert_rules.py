"""Alert rules (docs/alerts.md): per-chat rules, their evaluations and their notices.

alert_rules holds each rule and its current state (ok / firing / nodata / error), the last value,
and `told`: what the chat was last told (firing or not), which is what decides the next message.
alert_log is append-only: one row per evaluation (the `evaluation` kind) and one per state change
(`transition`), so /status and an engineer can see every decision. alert_notices is the ledger
of messages, the same discipline as the digest's deliveries: a notice row is written in the same
transaction as the state change that calls for it, then sent, then marked sent; the unique
(rule_id, seq) makes a second notice for one transition impossible, and a restart sends what is
still pending.

Revision ID: 0007
"""
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".alert_rules (
        id            bigserial primary key,
        chat_id       bigint not null,
        target        text not null,
        op            text not null check (op in ('<', '>', '<=', '>=', 'unusual')),
        threshold     numeric,
        scope         text,
        kind          text not null check (kind in ('state', 'flow')),
        state         text check (state in ('ok', 'firing', 'nodata', 'error')),
        told_firing   boolean not null default false,
        seq           integer not null default 0,
        last_value    double precision,
        last_day      date,
        last_error    text,
        evaluated_at  timestamptz,
        changed_at    timestamptz,
        snoozed_until timestamptz,
        muted         boolean not null default false,
        created_by    bigint,
        created_at    timestamptz not null default now(),
        deleted_at    timestamptz,
        check ((op = 'unusual') = (threshold is null))
    );
    create index alert_rules_chat on "{schema}".alert_rules (chat_id) where deleted_at is null;

    create table "{schema}".alert_log (
        id          bigserial primary key,
        rule_id     bigint not null,
        chat_id     bigint not null,
        kind        text not null check (kind in ('evaluation', 'transition')),
        at          timestamptz not null default now(),
        evaluated_for timestamptz,
        report_date date,
        scope       text,
        value       double precision,
        from_state  text,
        to_state    text not null,
        reason      text
    );
    create index alert_log_rule on "{schema}".alert_log (rule_id, id);

    create table "{schema}".alert_notices (
        id          bigserial primary key,
        rule_id     bigint not null,
        seq         integer not null,
        chat_id     bigint not null,
        kind        text not null check (kind in ('firing', 'resolved', 'error')),
        state       text not null check (state in ('pending', 'sent', 'failed', 'cancelled', 'suppressed')),
        text_value  double precision,  -- what the message says: the value, its day, the usual band
        report_date date,
        band_low    double precision,
        band_high   double precision,
        detail      text,
        created_at  timestamptz not null default now(),
        sent_at     timestamptz,
        message_id  bigint,
        attempts    integer not null default 0,
        last_error  text,
        unique (rule_id, seq)
    );
    create index alert_notices_pending on "{schema}".alert_notices (id) where state = 'pending';
    """)
