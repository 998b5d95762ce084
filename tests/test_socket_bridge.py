"""db/socket_bridge.py against a Unix-socket echo server: bytes go through both ways, and a client
that hangs up ends the bridged connection (the server sees EOF)."""
from __future__ import annotations

import socket
import threading

import sqlalchemy as sa

from db.socket_bridge import SocketBridge, socket_path


def _echo_server(path: str) -> tuple[socket.socket, list[bytes]]:
    """A Unix socket that echoes each connection back; `seen` gets what each connection sent."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
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
    return srv, seen


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        data = sock.recv(n - len(out))
        assert data, "the bridge closed early"
        out += data
    return out


def test_bytes_go_both_ways_and_a_hang_up_reaches_the_socket(tmp_path):
    srv, seen = _echo_server(str(tmp_path / "s"))
    payload = bytes(range(256)) * 1000  # larger than one 64 KiB read
    try:
        with SocketBridge(tmp_path / "s") as bridge:
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
