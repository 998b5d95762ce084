"""Engines: DATABASE_URL when set, else an embedded Postgres 16 kept in a project folder.

Every connection runs with the session TimeZone set to DATA_TIMEZONE. That one setting is what
makes naive `timestamp` source columns mean "wall clock in DATA_TIMEZONE": Postgres casts them to
timestamptz through the session zone whenever they meet a timestamptz parameter, and the btree
index on the naive column still serves the range scan (timestamp and timestamptz share an
operator family).
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from db.settings import Settings
from db.socket_bridge import server_address

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message is safe to show (no password)."""


def redact(text: str) -> str:
    """Remove passwords from anything that may contain a connection URL."""
    text = re.sub(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    return re.sub(r"(password=)\S+", r"\1***", text)


def embedded_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded Postgres in `data_dir` and return its URL."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        # pgserver asks platformdirs for a runtime dir, which wants one private to this user.
        runtime = Path(tempfile.gettempdir()) / f"salespulse-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver  # imported lazily: only the no-DATABASE_URL path needs it

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    return server.get_uri()


def server_label(url: sa.URL) -> str:
    """Which database a URL reaches, for people: the database, the server's address as libpq reads
    the URL (a TCP host and port, or a Unix socket), the user; never the password, and no driver
    name or percent-encoded query."""
    address = server_address(url)
    if address is None:
        where = "libpq's default socket (PGHOST)"
    elif isinstance(address, tuple):
        where = f"{address[0]}:{address[1]}"
    else:
        where = f"the Unix socket {address}"
    label = f"database {url.database or url.username or '(the default)'} on {where}"
    return f"{label} as {url.username}" if url.username else label


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    log.info("DATABASE_URL is not set: using the embedded Postgres in %s", settings.embedded_data_dir)
    return embedded_url(settings.embedded_data_dir)


def make_engine(url: str, data_timezone: str = "UTC", **kwargs) -> Engine:
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql"):
        u = u.set(drivername="postgresql+psycopg2")
    # JIT off: the metrics' per-user index probes inflate cost estimates past the JIT threshold,
    # and compiling then costs more than the whole query (seen: 1.1 s of 1.6 s).
    connect_args = {"options": f"-c timezone={data_timezone} -c jit=off", "connect_timeout": 10}
    connect_args.update(kwargs.pop("connect_args", {}))
    return sa.create_engine(u, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def engine_from_settings(settings: Settings, **kwargs) -> Engine:
    return make_engine(database_url(settings), settings.data_timezone, **kwargs)


def check_connection(engine: Engine) -> None:
    """Raise DatabaseError with a one-line, password-free message when the database is unusable."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseError(
            f"cannot connect to the {server_label(engine.url)}: {redact(reason)}; check DATABASE_URL "
            "(postgresql://user:password@host:5432/dbname, or ?host=/socket/dir for a Unix socket)"
        ) from None
