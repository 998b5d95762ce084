"""Shared helpers for the attribution and sessions tests (no tests of its own).

`web` gives each test a fresh source schema AND a fresh state schema migrated to head, and
helpers to add web events, payments, to update the session store and to read it back.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from db.state import migrate
from metrics import attribution
from metrics.attribution import touches
from metrics.day import ReportDay
from metrics.sessions import scope_name
from metrics.sessions.store import ensure_days, rebuild_sessions, sync_scope, update_sessions

UTC = ZoneInfo("UTC")
MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
D = date(2024, 3, 14)
SITE = "https://shop.example.com/"
WEB_COLUMNS = (
    "anonymous_id", "user_id", "happened_at", "event_type", "platform", "page_url", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
)


def at(d: date, h: int, m: int = 0, s: int = 0, tz=UTC) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=tz)


class Web:
    def __init__(self, source, state_schema: str):
        self.db = source
        self.engine = source.engine
        self.src = dataclasses.replace(source.src, state_schema=state_schema)

    def hit(self, ts, anon=None, user=None, *, ref=None, page=SITE, utm=(), event_type="page_view"):
        """One web event; utm = (source, medium, campaign, content, term), may be shorter."""
        utm = tuple(utm) + (None,) * (5 - len(utm))
        row = dict(zip(WEB_COLUMNS, (anon, user, ts, event_type, "web", page, ref, *utm)))
        self.db.insert("web_events", [row])

    def rows(self, rows: list[dict]) -> None:
        full = [{c: r.get(c) for c in WEB_COLUMNS} | {"event_type": r.get("event_type") or "page_view"} for r in rows]
        self.db.insert("web_events", full)

    def pay(self, user, ts, amount):
        self.db.payments((user, ts, amount))

    def update(self, cfg, tz="UTC", rebuild=False) -> str:
        with self.engine.begin() as conn:
            fn = rebuild_sessions if rebuild else update_sessions
            return fn(conn, self.src, cfg.attribution, tz)

    def sync(self, cfg, tz="UTC") -> None:
        """The digest's sessions stage with no day to build: links and built days up to the
        newest row (what the funnel's first-touch channels read)."""
        with self.engine.begin() as conn:
            sync_scope(conn, self.src, cfg.attribution, tz)

    def sessions(self, cfg, tz="UTC") -> list[tuple]:
        """(skey, started_at, ended_at, events, ch_source, ch_medium) in time order."""
        scope = scope_name(self.src, cfg.attribution, tz)
        with self.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        f'select skey, started_at, ended_at, events, ch_source, ch_medium '
                        f'from "{self.src.state_schema}".attribution_sessions where scope = :scope '
                        f"order by skey, started_at, first_event_id"
                    ),
                    {"scope": scope},
                )
            ]

    def report(self, cfg, day=D, tz="UTC") -> attribution.AttributionResult:
        """As a digest does it: the store's days of the report built first, then the metric."""
        rd = ReportDay(day, tz)
        with self.engine.begin() as conn:
            ensure_days(conn, self.src, cfg.attribution, tz, attribution.window_days(cfg, rd))
            return attribution.compute(conn, self.src, cfg, rd)

    def touches(self, cfg, users, day=D, tz="UTC"):
        """Over the users' whole history: every day of the store built first."""
        with self.engine.begin() as conn:
            update_sessions(conn, self.src, cfg.attribution, tz)
            return touches.user_touches(conn, self.src, cfg, ReportDay(day, tz), users)


def make_web(source, engine) -> Web:
    """A Web over the conftest `source`, with a state schema of its own migrated to head.

    Each test module declares its `web` fixture as `return make_web(source, engine)`."""
    state = f"st_{source.schema}"
    migrate(engine, state)
    return Web(source, state)


def by_channel(rows) -> dict[str, tuple]:
    return {r.channel: (r.sessions, r.users, r.conversions, r.revenue) for r in rows}
