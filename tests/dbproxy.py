"""A TCP proxy on loopback between the bot's engine and the shared Postgres, so a test can take
"the database" down without touching the server other test runs use.

`down()` cuts every open connection and refuses new ones (accepted, then closed at once: the
client sees "server closed the connection unexpectedly", as when Postgres restarts); `up()`
forwards again. It runs its own event loop in a thread, so synchronous code on the test's loop
(SQLAlchemy through the proxy) cannot deadlock against it.
"""
from __future__ import annotations

import asyncio
import threading

import sqlalchemy as sa

from db.socket_bridge import pipe


class DbProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432):
        self.target = (target_host, target_port)
        self.port = 0
        self.refused = 0  # connections refused while down
        self._up = True
        self._conns: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dbproxy", daemon=True)
        self._server: asyncio.Server | None = None

    # -- control (from any thread) -----------------------------------------------------------
    def start(self) -> DbProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def down(self) -> None:
        self._call(self._down())

    def up(self) -> None:
        self._up = True

    def close(self) -> None:
        async def stop():
            self._server.close()
            await self._down()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url(self, url: str) -> str:
        """`url` (a database URL of the real server) pointed at the proxy."""
        return sa.engine.make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- the proxy -----------------------------------------------------------------------------
    async def _down(self) -> None:
        self._up = False
        for writer in list(self._conns):
            writer.transport.abort()
        self._conns.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._conns |= {writer, up_writer}
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._conns -= {writer, up_writer}
