"""A loopback TCP port in front of a Postgres Unix socket, for clients that speak TCP only.

The embedded Postgres (`make demo` without DATABASE_URL) listens on a Unix socket alone, and the
Spark engine's JDBC driver cannot reach a socket. For a local Spark master the build opens this
bridge for its duration: 127.0.0.1:<free port> forwards each connection, byte for byte, to the
socket. It listens on loopback only and closes with the `with` block.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Self

import sqlalchemy as sa


def socket_path(url: sa.URL) -> Path | None:
    """The Unix socket file a Postgres URL names (host=/dir in the query, or a /dir host), else None."""
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    if host and str(host).startswith("/"):
        return Path(str(host)) / f".s.PGSQL.{url.port or 5432}"
    return None


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a connection until it ends, then close the other side's writer
    (so the peer's own pipe sees EOF and ends too)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


class SocketBridge:
    def __init__(self, path: Path):
        self.path = path
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="pg-socket-bridge")
        self._server: asyncio.base_events.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_unix_connection(str(self.path))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    def __enter__(self) -> Self:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop)
        self._server = started.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
