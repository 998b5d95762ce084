"""db/socket_bridge.py against echo servers on a Unix socket and on TCP: bytes go through both
ways, and a client that hangs up ends the bridged connection (the server sees EOF); and how a
database URL names the server's address, as libpq reads it."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.socket_bridge import Address, SocketBridge, server_address, socket_path, via_loopback


def _echo_server(address: Path | None = None) -> tuple[socket.socket, Address, list[bytes]]:
    """A server that echoes each connection back, on the Unix socket `address` or, without one, on
    a free loopback port; `seen` gets what each connection sent."""
    if address is None:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
        address = srv.getsockname()
    else:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(address))
    srv.listen()
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            got = b""
            with conn:
                while data := conn.recv(65536):
                    got += data
                    conn.sendall(data)
                # only after EOF (the bridge passed the client's hang-up on), and before closing,
                # so a client that sees the close finds it recorded
                seen.append(got)

    threading.Thread(target=serve, daemon=True).start()
    return srv, address, seen


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        data = sock.recv(n - len(out))
        assert data, "the bridge closed early"
        out += data
    return out


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_bytes_go_both_ways_and_a_hang_up_reaches_the_server(tmp_path, kind):
    srv, address, seen = _echo_server(tmp_path / "s" if kind == "unix" else None)
    payload = bytes(range(256)) * 1000  # larger than one 64 KiB read
    try:
        with SocketBridge(address) as bridge:
            for _ in range(2):
                with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as client:
                    client.sendall(payload)
                    assert _recv_exactly(client, len(payload)) == payload
                    client.shutdown(socket.SHUT_WR)
                    assert client.recv(1) == b""  # the server's side closed in turn
            assert seen == [payload, payload]
    finally:
        srv.close()


def test_socket_path_reads_a_socket_directory_from_the_url():
    assert socket_path(sa.make_url("postgresql://u@/db?host=/run/pg")).as_posix() == "/run/pg/.s.PGSQL.5432"
    assert socket_path(sa.make_url("postgresql://u@127.0.0.1:5432/db")) is None


@pytest.mark.parametrize("url, address", [
    ("postgresql://u@/db?host=/run/pg", Path("/run/pg/.s.PGSQL.5432")),
    ("postgresql://u@/db?host=/run/pg&port=5433", Path("/run/pg/.s.PGSQL.5433")),  # the socket is named after the port
    ("postgresql://u@:6432/db?host=/run/pg", Path("/run/pg/.s.PGSQL.6432")),
    ("postgresql://u@127.0.0.1:5432/db?host=/tmp/x", Path("/tmp/x/.s.PGSQL.5432")),  # libpq: the query wins
    ("postgresql://u@db.local:6432/db", ("db.local", 6432)),
    ("postgresql://u@db.local/db", ("db.local", 5432)),
    ("postgresql://u@db.local/db?port=7000", ("db.local", 7000)),
    ("postgresql://u@/db?host=db.local", ("db.local", 5432)),
    ("postgresql://u@/db", None),  # PGHOST or libpq's compiled-in socket directory
])
def test_server_address_reads_the_url_as_libpq_does(url, address):
    assert server_address(sa.make_url(url)) == address


def test_via_loopback_leaves_nothing_that_libpq_would_prefer():
    u = sa.make_url("postgresql://bob:pw@/sales?host=/work/.pgdata&port=5432&sslmode=disable")
    assert via_loopback(u, 4444).render_as_string(hide_password=False) == \
        "postgresql://bob:pw@127.0.0.1:4444/sales?sslmode=disable"
