"""The session store: identity links and web sessions derived from web_events, kept per local day
in the state schema (docs/metrics.md, "The session store").

A processor apart from the metrics, as retentioneering keeps its data processors apart from its
tools. It is written only by its own modules:
- store.py: the incremental sync (new rows, changed links) and the days a report needs built;
- backfill.py: the missing days ahead of reports, resumably, on parallel connections;
- spark_store.py and spark_job.py: the same store built on Apache Spark;
with the session rules in rules.py, identity stitching in identity.py and the day's
sessionization in Polars in frame.py.

The metrics read it through `SessionStore` alone (which scope, which tables, which days are built,
the watermark) and never write it: reports.digest builds the days a digest reads, in a stage of
its own, before any metric runs.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import AttributionConfig


def scope_name(src: Source, cfg: AttributionConfig, tz: str) -> str:
    """Midnight depends on the time zone and a session on the timeout and the internal hosts, so
    the store keeps one scope per (source schema, time zone, timeout, internal hosts)."""
    hosts = ",".join(sorted(cfg.internal_hosts))
    return f"{src.schema}|{tz}|{cfg.session_timeout_minutes}|{hosts}"


def lock_key(src: Source, scope: str) -> str:
    """The advisory-lock text of a scope: with the state schema, since two state schemas on one
    database (a bench beside a bot) hold stores of the same scope name that do not collide."""
    return f"{src.state_schema}|{scope}"


class SessionsNotBuilt(RuntimeError):
    """A metric needs days of the store that are not built (the stage that builds them failed)."""

    def __init__(self, days: list[date]):
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in days[:3]) + (" …" if len(days) > 3 else "")
        super().__init__(f"the sessions of {shown} are not built")
        self.days = days


@dataclass(frozen=True)
class SessionStore:
    """One scope of the store, as the metrics read it."""

    src: Source
    rules: AttributionConfig
    tz: str

    @property
    def scope(self) -> str:
        return scope_name(self.src, self.rules, self.tz)

    @property
    def sessions(self) -> str:
        return self.src.state_table("attribution_sessions")

    @property
    def links(self) -> str:
        return self.src.state_table("attribution_links")

    def missing_days(self, conn: Connection, days: Iterable[date]) -> list[date]:
        """The days among `days` whose sessions are not (all) in the store, oldest first."""
        wanted = sorted(set(days))
        built = {r[0] for r in conn.execute(sa.text(
            f"select local_day from {self.src.state_table('attribution_days')} "
            "where scope = :scope and local_day = any(:days)"), {"scope": self.scope, "days": wanted})}
        return [d for d in wanted if d not in built]

    def require(self, conn: Connection, days: Iterable[date]) -> str:
        """The scope name, once every day of `days` is built; SessionsNotBuilt otherwise."""
        missing = self.missing_days(conn, days)
        if missing:
            raise SessionsNotBuilt(missing)
        return self.scope

    def watermark(self, conn: Connection) -> int:
        """The newest web_events id the links and built days are complete for (0: never synced)."""
        high = conn.execute(sa.text(f"select last_event_id from {self.src.state_table('attribution_scopes')} "
                                    "where scope = :scope"), {"scope": self.scope}).scalar_one_or_none()
        return int(high or 0)
