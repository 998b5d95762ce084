"""tests/dbproxy.py follows the URL it is given: over TCP (the machine's Postgres) and through a
Unix socket (the embedded Postgres of `make test` without DATABASE_URL), the engine on `url()`
reaches the test database, `down()` cuts it and refuses new connections, `up()` forwards again.

Each pass of the suite has one kind of test server; the other kind is made from it: a TCP URL for
a socket server through a loopback bridge, a socket URL for the machine's server through its own
socket directory when it has one."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from db.engine import make_engine
from db.socket_bridge import SocketBridge, server_address, socket_path, via_loopback
from tests.dbproxy import DbProxy

SOCKET_DIR = "/var/run/postgresql"  # Debian's, where the machine's Postgres also listens


@contextmanager
def as_tcp(url: str) -> Iterator[str]:
    u = sa.make_url(url)
    path = socket_path(u)
    if path is None:
        yield url
        return
    with SocketBridge(path) as bridge:
        yield via_loopback(u, bridge.port).render_as_string(hide_password=False)


def as_socket(url: str) -> str:
    u = sa.make_url(url)
    address = server_address(u)
    if isinstance(address, tuple):
        host, port = address
        if host not in ("127.0.0.1", "localhost") or not os.path.exists(f"{SOCKET_DIR}/.s.PGSQL.{port}"):
            pytest.skip("the test server has no Unix socket beside its TCP address")
        u = u.set(host=None, port=None).update_query_dict({"host": SOCKET_DIR, "port": str(port)})
    return u.render_as_string(hide_password=False)


def assert_the_proxy_cuts_and_restores(url: str) -> None:
    proxy = DbProxy(url).start()
    eng = make_engine(proxy.url(), "UTC", connect_args={"connect_timeout": 3})
    try:
        assert sa.make_url(proxy.url()).query.get("host") is None  # libpq would prefer it to the proxy
        with eng.connect() as conn:
            assert conn.exec_driver_sql("select current_database()").scalar_one() == sa.make_url(url).database
            proxy.down()
            with pytest.raises(sa.exc.OperationalError, match="closed the connection unexpectedly"):
                conn.exec_driver_sql("select 1")
        with pytest.raises(sa.exc.OperationalError):
            eng.connect()
        assert proxy.refused >= 1
        proxy.up()
        with eng.connect() as conn:
            assert conn.exec_driver_sql("select 2").scalar_one() == 2
    finally:
        eng.dispose()
        proxy.close()


def test_through_tcp(database_url):
    with as_tcp(database_url) as url:
        assert isinstance(server_address(sa.make_url(url)), tuple)
        assert_the_proxy_cuts_and_restores(url)


def test_through_a_unix_socket(database_url):
    url = as_socket(database_url)
    assert socket_path(sa.make_url(url)) is not None
    assert_the_proxy_cuts_and_restores(url)


def test_a_url_without_a_host_is_a_clear_error():
    with pytest.raises(ValueError, match="needs a database URL with a host"):
        DbProxy("postgresql://u@/db")
