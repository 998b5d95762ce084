"""Every test run gets its own fresh database on a real Postgres.

DATABASE_URL (CI: the machine's Postgres on 127.0.0.1:5432) names the server; without it the
embedded Postgres is used. Tests that need source tables get a fresh schema of their own, so tests
never see each other's rows.
"""
from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa

os.environ.setdefault("RETENTIONEERING_NO_TRACK", "1")

from db.engine import embedded_url, make_engine
from db.source import Source, create_source_tables
from db.state import migrate
from metrics.config import load_config

_counter = itertools.count()


def run_metrics(engine, schema: str, cfg, day, names: tuple[str, ...] | None = None, state_schema: str = "salespulse",
             scope: str | None = None):
    """reports.digest.compute_metrics for a request made the way the command line makes it."""
    from reports.digest import compute_metrics, read_source
    from reports.request import report_request

    req = report_request(day, scope=scope, metrics=names, source_schema=schema, state_schema=state_schema)
    return compute_metrics(engine, read_source(engine, req), cfg, req)


def checked_series(conn, src, cfg, day, scope=None, metrics=None, back=None):
    """Every checked number's series of these metrics (default: all with numbers) over D-back ...
    D, from their specs, with the session days the sessions' series reads built first (D and its
    weekdays, as the digest's sessions stage does)."""
    from metrics.attribution.series import store_days
    from metrics.detector.check import HISTORY_DAYS
    from metrics.sessions.store import ensure_days
    from reports.registry import names, series_of

    wanted = tuple(metrics or names())
    if "attribution" in wanted and src.has("web_events", "payments"):
        ensure_days(conn, src, cfg.attribution, day.timezone, store_days(day))
    return [s for fn in series_of(wanted).values() for s in fn(conn, src, cfg, day, scope, back or HISTORY_DAYS)]


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    """Every SQL statement `engine` sends inside the block, in order."""
    seen: list[str] = []
    listen = lambda conn, cursor, statement, *rest: seen.append(statement)
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from pathlib import Path

    return embedded_url(Path(os.environ.get("EMBEDDED_PG_DIR", ".pgdata")))


@pytest.fixture(scope="session")
def database_url():
    admin = make_engine(_server_url(), isolation_level="AUTOCOMMIT")
    name = f"salespulse_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'create database "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,)
        )
        conn.exec_driver_sql(f'drop database if exists "{name}"')
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url):
    eng = make_engine(database_url, "UTC")
    yield eng
    eng.dispose()


@pytest.fixture
def cfg():
    return load_config()


class SourceDB:
    """A fresh schema with the source tables, and helpers to load hand-built rows into it."""

    def __init__(self, engine, schema: str, data_timezone: str = "UTC"):
        self.engine = engine if data_timezone == "UTC" else make_engine(engine.url, data_timezone)
        self.schema = schema
        self.src = Source(schema=schema)
        self._event_ids: dict[str, int] = {}

    def insert(self, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        sql = sa.text(
            f'insert into "{self.schema}"."{table}" ({", ".join(cols)}) '
            f'values ({", ".join(":" + c for c in cols)})'
        )
        with self.engine.begin() as conn:
            conn.execute(sql, rows)

    def event_id(self, name: str) -> int:
        if name not in self._event_ids:
            new_id = len(self._event_ids) + 1
            self.insert("events_dict", [{"id": new_id, "description": name}])
            self._event_ids[name] = new_id
        return self._event_ids[name]

    def events(self, *rows: tuple[int, str, object]) -> None:
        """(user_id, event name, happened_at) triples."""
        self.insert(
            "events",
            [{"user_id": u, "event_id": self.event_id(e), "happened_at": t} for u, e, t in rows],
        )

    def payments(self, *rows: tuple) -> None:
        """(user_id, transaction_created_at, amount) triples."""
        self.insert(
            "payments",
            [{"user_id": u, "transaction_created_at": t, "amount": a} for u, t, a in rows],
        )

    def tags(self, *rows: tuple[int, str]) -> None:
        """(user_id, tag) pairs of the optional user_tags table (scopes and owners)."""
        self.insert("user_tags", [{"user_id": u, "tag": t} for u, t in rows])

    def drop_tables(self, *names: str) -> None:
        with self.engine.begin() as conn:
            for n in names:
                conn.exec_driver_sql(f'drop table "{self.schema}"."{n}" cascade')
        from db.source import inspect_source

        with self.engine.connect() as conn:
            self.src = inspect_source(conn, self.schema)


def _make_source(engine, naive: bool, data_timezone: str = "UTC") -> SourceDB:
    schema = f"t{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        create_source_tables(conn, schema, naive_timestamps=naive)
    return SourceDB(engine, schema, data_timezone)


@pytest.fixture
def source(engine) -> SourceDB:
    """Source tables with timestamptz columns in a schema of this test's own."""
    return _make_source(engine, naive=False)


@pytest.fixture
def state(source, engine):
    """A state schema of the source's own, named after it, the source pointed at it."""
    name = f"st_{source.schema}"
    migrate(engine, name)
    source.src = replace(source.src, state_schema=name)
    yield name
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{name}" cascade')


@pytest.fixture
def make_source(engine):
    """Factory: make_source(naive=True, data_timezone='Europe/Moscow') for naive-timestamp tables."""
    return lambda naive=False, data_timezone="UTC": _make_source(engine, naive, data_timezone)


@pytest.fixture
async def tg():
    """A fake Telegram Bot API server on loopback (tests/faketg.py), closed after the test."""
    from tests.faketg import FakeTelegram

    server = await FakeTelegram().start()
    yield server
    await server.close()


@pytest.fixture
def proxy(database_url):
    """A loopback TCP proxy to the test server (tests/dbproxy.py) that a test can take down."""
    from tests.dbproxy import DbProxy

    p = DbProxy(database_url).start()
    yield p
    p.close()


@pytest.fixture
def bot_engine(proxy):
    """An engine through `proxy`: the bot's view of the database in the outage tests."""
    eng = make_engine(proxy.url(), "UTC", connect_args={"connect_timeout": 3})
    yield eng
    eng.dispose()


@pytest.fixture
def schema(engine):
    """A freshly migrated bot state schema of its own (test_bot_commands overrides it unmigrated)."""
    from db.state import migrate

    name = f"bot_{uuid.uuid4().hex[:8]}"
    migrate(engine, name)
    return name
