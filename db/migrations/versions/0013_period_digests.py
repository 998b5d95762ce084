"""The week and the month in review (docs/plan.md): a chat may have a weekly and a monthly
digest besides (or instead of) its daily one, each delivered once per period through the same
ledger.

- deliveries.period: 'day', 'week' or 'month'. A row's report_date is the last day it covers (the
  day for a daily digest; the Sunday of the week, the month's last day), so a slot is (chat,
  period, report_date): a weekly and a daily digest sent the same Monday never share one.
- subscriptions.daily: whether the chat gets the daily digest (a chat may take only the weekly).
- subscription_periods: a chat's weekly and monthly digests, each at its own time (the chat's
  time zone, language, scope and metrics are its subscription's); created_at says from when on
  one is due, so adding the weekly on a Tuesday does not count Monday's as missed.

Revision ID: 0013
"""
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade(schema: str) -> None:
    op.execute(f"""
    alter table "{schema}".deliveries
        add column period text not null default 'day' check (period in ('day', 'week', 'month'));
    drop index "{schema}".deliveries_once;
    create unique index deliveries_once on "{schema}".deliveries (chat_id, period, report_date)
        where state in ('working', 'waiting', 'sent');
    alter table "{schema}".subscriptions add column daily boolean not null default true;
    create table "{schema}".subscription_periods (
        chat_id       bigint not null,
        period        text not null check (period in ('week', 'month')),
        delivery_time time not null,
        created_at    timestamptz not null default now(),
        primary key (chat_id, period)
    );
    """)


def downgrade(schema: str) -> None:
    op.execute(f"""
    drop table "{schema}".subscription_periods;
    alter table "{schema}".subscriptions drop column daily;
    delete from "{schema}".deliveries where period <> 'day';
    drop index "{schema}".deliveries_once;
    create unique index deliveries_once on "{schema}".deliveries (chat_id, report_date)
        where state in ('working', 'waiting', 'sent');
    alter table "{schema}".deliveries drop column period;
    """)
