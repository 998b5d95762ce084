"""Scoped chats: a subscription's scope and metrics, and the single-use invites behind deep links.

A chat with a scope only ever sees that scope (docs/scopes.md); `metrics` null means every
metric. An invite row is what a deep-link token points at: the token carries only the row id and
the expiry, signed, so the scope never travels through Telegram and a used or expired row refuses.

Revision ID: 0006
"""
from alembic import op

revision = "0006"
down_revision = "0004"


def upgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".subscriptions
        add column scope   text,
        add column metrics text[];
    create table "{schema}".invites (
        id           bigserial primary key,
        scope        text not null,
        created_by   bigint not null,
        created_at   timestamptz not null default now(),
        expires_at   timestamptz not null,
        used_at      timestamptz,
        used_by_chat bigint,
        used_by_user bigint
    );
    """)
