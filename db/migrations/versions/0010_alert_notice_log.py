"""Alert notices get a log of their own: one row per transition of a notice (queued, suppressed,
sent, failed, cancelled, a retry), written in the same transaction as the change, as delivery_log
does for digests (bot/alerts/notices.py holds the state machine).

Revision ID: 0010
"""
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".alert_notice_log (
        id          bigserial primary key,
        notice_id   bigint not null,
        rule_id     bigint not null,
        chat_id     bigint not null,
        at          timestamptz not null default now(),
        event       text not null,
        from_state  text,
        to_state    text not null,
        reason      text
    );
    create index alert_notice_log_notice on "{schema}".alert_notice_log (notice_id, id);
    insert into "{schema}".alert_notice_log (notice_id, rule_id, chat_id, at, event, from_state, to_state, reason)
        select id, rule_id, chat_id, created_at, 'migrated', null, state, last_error
        from "{schema}".alert_notices;
    """)


def downgrade(schema: str) -> None:
    op.execute(f'drop table "{schema}".alert_notice_log')
