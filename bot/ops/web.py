"""/healthz and /metrics on the bot's own event loop (aiohttp), when METRICS_PORT is set.

/healthz answers 200 when the database answers a `select 1`, Telegram answers getMe and the
delivery sweep ran lately; 503 otherwise, with the same small JSON body saying which part failed.
Telegram is asked at most every TELEGRAM_CHECK_EVERY seconds however often the probe comes.
/metrics is the Application's own registry (bot.ops.telemetry) in Prometheus text format.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from aiohttp import web
from prometheus_client.exposition import choose_encoder
from telegram import Bot
from telegram.ext import Application

from bot.delivery.sweep import Sweeper
from bot.ops.telemetry import Telemetry
from db.settings import Settings

log = logging.getLogger("salespulse.bot.web")

CHECK_TIMEOUT = 3.0          # seconds the database or Telegram may take to answer a probe
TELEGRAM_CHECK_EVERY = 15.0  # seconds a getMe answer is reused
SWEEP_LATE = 300.0           # the sweep runs every minute; this long without one is a stall


@dataclass(frozen=True)
class Health:
    ok: bool
    database: str            # "ok" or the first line of the error
    telegram: str
    last_sweep: str | None   # ISO time of the last sweep (into an outage or not)
    sweep: str               # "ok", "starting" or "stalled"


class HealthCheck:
    def __init__(self, engine: sa.Engine, bot: Bot, last_sweep: Callable[[], float | None],
                 sweep_interval: float):
        self.engine, self.bot, self.last_sweep = engine, bot, last_sweep
        self.sweep_late = max(SWEEP_LATE, 5 * sweep_interval)
        self.started = time.time()
        self._telegram: tuple[float, str] | None = None  # (monotonic time, answer)
        self._ping: asyncio.Future | None = None

    async def __call__(self) -> Health:
        database, telegram = await asyncio.gather(self._database(), self._telegram_answer())
        last = self.last_sweep()
        since = time.time() - (last if last is not None else self.started)
        sweep = "stalled" if since > self.sweep_late else ("ok" if last is not None else "starting")
        return Health(database == "ok" and telegram == "ok" and sweep != "stalled", database, telegram,
                      datetime.fromtimestamp(last, UTC).isoformat(timespec="seconds") if last else None,
                      sweep)

    async def _database(self) -> str:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(sa.text("select 1"))

        # A ping that hangs (a stalled server) keeps its worker thread: probes arriving meanwhile
        # wait for the same ping, so they never use up the threads the bot's own queries need.
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(asyncio.to_thread(ping))
        return await _answer(asyncio.shield(self._ping))

    async def _telegram_answer(self) -> str:
        now = time.monotonic()
        if self._telegram is None or now - self._telegram[0] > TELEGRAM_CHECK_EVERY:
            self._telegram = (now, await _answer(self.bot.get_me()))
        return self._telegram[1]


async def _answer(awaitable) -> str:
    from db.engine import redact

    try:
        await asyncio.wait_for(awaitable, CHECK_TIMEOUT)
        return "ok"
    except TimeoutError:
        return f"no answer in {CHECK_TIMEOUT:.0f} s"
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, never a 500
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        return redact(f"{type(exc).__name__}: {first}"[:300])


class StatusServer:
    def __init__(self, telemetry: Telemetry, health: HealthCheck, host: str, port: int):
        self.telemetry, self.health = telemetry, health
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self.telemetry.attach(self.health.engine)
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the one bound when asked for 0
        log.info("serving /healthz and /metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        self.telemetry.detach()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        health = await self.health()
        return web.json_response(asdict(health), status=200 if health.ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        # The library's content negotiation: the text format, or OpenMetrics when asked for.
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.telemetry.registry), headers={"Content-Type": content_type})


def instrument(app: Application, settings: Settings, telemetry: Telemetry, engine: sa.Engine,
               sweeper: Sweeper) -> StatusServer | None:
    """Count the Bot API's failed requests and the sweeps; the server when METRICS_PORT is set."""
    telemetry.watch(app.bot.request)
    telemetry.sweeps_of(lambda: sweeper.last_run)
    if settings.metrics_port is None:
        return None
    health = HealthCheck(engine, app.bot, lambda: sweeper.last_run, sweeper.delivery.options.sweep_interval)
    return StatusServer(telemetry, health, settings.metrics_host, settings.metrics_port)
