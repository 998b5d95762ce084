"""A TCP proxy on loopback between the bot's engine and the test server, so a test can take
"the database" down without touching the server other test runs use.

It forwards to wherever the test URL says the server listens: a host and port (the machine's
Postgres) or a Unix socket (the embedded Postgres of `make test` without DATABASE_URL); `url()` is
that URL pointed at the proxy alone. `down()` cuts every open connection and refuses new ones
(accepted, then closed at once: the client sees "server closed the connection unexpectedly", as
when Postgres restarts); `up()` forwards again.
"""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from db.socket_bridge import SocketBridge, server_address, via_loopback


class DbProxy(SocketBridge):
    def __init__(self, url: str):
        self._url = sa.engine.make_url(url)
        target = server_address(self._url)
        if target is None:
            raise ValueError("the proxy needs a database URL with a host or a host=/socket/dir query")
        super().__init__(target)
        self.refused = 0  # connections refused while down
        self._up = True

    def down(self) -> None:
        self.call(self._down())

    def up(self) -> None:
        self._up = True

    def url(self) -> str:
        """The real server's URL pointed at the proxy."""
        return via_loopback(self._url, self.port).render_as_string(hide_password=False)

    async def _down(self) -> None:
        self._up = False
        self._abort_all()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            self.refused += 1
            writer.transport.abort()
            return
        await super()._handle(reader, writer)
