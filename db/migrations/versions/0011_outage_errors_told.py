"""delivery_outages.errors_told: the kinds of unexpected error the admins were told about.

An error nobody foresaw while sending a digest leaves the delivery waiting (issue 28); the admins
hear once per kind of error (its class name) and outage, across parallel failures and restarts,
as they hear once that a delivery is delayed (delayed_told_at).

Revision ID: 0011
"""
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".delivery_outages add column errors_told text[] not null default '{{}}';
    """)


def downgrade(schema: str) -> None:
    op.execute(f'alter table "{schema}".delivery_outages drop column errors_told;')
