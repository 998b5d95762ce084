"""A loopback TCP port in front of a Postgres server, for clients that speak TCP only.

The embedded Postgres (`make demo` without DATABASE_URL) listens on a Unix socket alone, and the
Spark engine's JDBC driver cannot reach a socket. For a local Spark master the build opens this
bridge for its duration: 127.0.0.1:<free port> forwards each connection, byte for byte, to the
server's address (its socket file, or a host and port). It listens on loopback only and closes
with the `with` block. The tests' database proxy (tests/dbproxy.py) is this bridge with a switch.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Self

import sqlalchemy as sa

# Where a server listens: its Unix socket file, or a TCP (host, port).
Address = Path | tuple[str, int]

# The URL keys that libpq reads ahead of the URL's own host and port.
_ADDRESS_KEYS = ("host", "hostaddr", "port")


def _query(url: sa.URL, key: str) -> str | None:
    value = url.query.get(key)
    return value[0] if isinstance(value, tuple) else value


def server_address(url: sa.URL) -> Address | None:
    """Where the server of a Postgres URL listens, read as libpq reads it: the `host=` query before
    the URL's host (a directory is a Unix socket, `<dir>/.s.PGSQL.<port>`), the `port=` query
    before the URL's port, 5432 without either. None when the URL names no host at all (libpq then
    falls back to PGHOST or its compiled-in socket directory, which a URL cannot tell)."""
    host = _query(url, "host") or url.host
    port = int(_query(url, "port") or url.port or 5432)
    if not host:
        return None
    return Path(host) / f".s.PGSQL.{port}" if host.startswith("/") else (host, port)


def socket_path(url: sa.URL) -> Path | None:
    """The Unix socket file a Postgres URL names (host=/dir in the query, or a /dir host), else None."""
    address = server_address(url)
    return address if isinstance(address, Path) else None


def via_loopback(url: sa.URL, port: int) -> sa.URL:
    """`url` pointed at 127.0.0.1:`port` alone: a `host=` query left in it would win over the new
    host in libpq, and the client would look for a socket named after the bridge's port."""
    return url.difference_update_query(_ADDRESS_KEYS).set(host="127.0.0.1", port=port)


async def open_address(address: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if isinstance(address, Path):
        return await asyncio.open_unix_connection(str(address))
    return await asyncio.open_connection(*address)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a connection until it ends, then pass the end on as a half-close, so
    the peer sees EOF while its answer can still come back the other way (a full close here would
    cut that answer off: the client would see the end before the server has finished)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
            else:
                writer.close()
        except OSError:
            writer.close()


class SocketBridge:
    """127.0.0.1:<free port> forwarding to `target`. It runs its own event loop in a thread, so
    synchronous code (the JDBC driver, SQLAlchemy on a test's loop) cannot deadlock against it."""

    def __init__(self, target: Address):
        self.target = target
        self.port = 0
        self._conns: set[asyncio.StreamWriter] = set()  # both ends of every open connection
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="pg-socket-bridge")
        self._server: asyncio.Server | None = None

    def call(self, coro, timeout: float = 10):
        """Run `coro` on the bridge's loop from any other thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> Self:
        self._thread.start()
        self._server = self.call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        async def stop() -> None:
            if self._server:
                self._server.close()
            self._abort_all()
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _abort_all(self) -> None:
        """Cut every open connection at once (a reset, as when the server goes away)."""
        for writer in list(self._conns):
            writer.transport.abort()
        self._conns.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)  # from the start, so a cut while we connect upstream reaches it
        try:
            up_reader, up_writer = await open_address(self.target)
        except OSError:
            self._conns.discard(writer)
            writer.transport.abort()
            return
        if writer.is_closing():  # cut while connecting
            up_writer.transport.abort()
            return
        self._conns.add(up_writer)
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._conns -= {writer, up_writer}
            writer.close()
            up_writer.close()
