"""Attribution: derived web sessions, identity links and the update watermark.

A *scope* names one derived data set: source schema, report time zone (midnight splits sessions),
session timeout and internal hosts (both change where sessions break). A different scope is built
from scratch; rows of one scope never depend on another's.

Revision ID: 0002
"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".attribution_scopes (
        scope          text primary key,
        last_event_id  bigint not null default 0,  -- web_events.id watermark: rows <= it are in
        updated_at     timestamptz not null default now()
    );
    -- The latest anonymous_id -> user_id link of each device, as of the scope's watermark.
    create table "{schema}".attribution_links (
        scope         text not null,
        anonymous_id  text not null,
        user_id       bigint not null,
        linked_at     timestamptz not null,
        row_id        bigint not null,
        primary key (scope, anonymous_id)
    );
    create index attribution_links_user on "{schema}".attribution_links (scope, user_id);
    -- One row per session; the channel is derived at query time from ch_source / ch_medium, so
    -- editing the source lists in the configuration needs no rebuild.
    create table "{schema}".attribution_sessions (
        scope          text not null,
        skey           text not null,      -- 'u:<user_id>' or 'a:<anonymous_id>'
        user_id        bigint,             -- the stitched user, null for an anonymous device
        local_day      date not null,      -- in the scope's time zone; sessions never cross midnight
        first_event_id bigint not null,
        started_at     timestamptz not null,
        ended_at       timestamptz not null,
        events         integer not null,
        ch_source      text,               -- lower-case utm_source, else external referrer host
        ch_medium      text,               -- lower-case utm_medium, else 'referral' for a referrer
        utm_campaign   text,
        primary key (scope, skey, local_day, first_event_id)
    );
    create index attribution_sessions_started on "{schema}".attribution_sessions (scope, started_at);
    create index attribution_sessions_user on "{schema}".attribution_sessions (scope, user_id, started_at)
        where user_id is not null;
    """)
