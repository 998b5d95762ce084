"""Shared machinery of the bot: options, retries against the database, the digest cache.

The digest for a (date, time zone, locale, metrics, scope) is computed once, in a worker thread (the event loop
keeps answering commands meanwhile), and shared by every chat that asks for it at the same time.
"""
from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from db.source import DEFAULT_STATE_SCHEMA
from metrics.day import ReportDay
from reports.request import report_request

log = logging.getLogger("salespulse.bot")

Clock = Callable[[], datetime]
DigestBuilder = Callable[..., Any]  # reports.digest.build_digest(engine, cfg, request, progress=...)
Progress = Callable[[str], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BotOptions:
    """Knobs that production leaves alone and tests shrink (backoffs in seconds)."""

    send_attempts: int = 5            # timeouts / 5xx: tries per part
    send_backoff: float = 1.0         # first wait; doubles each time
    db_attempts: int = 5              # database down: tries per step before telling the admins
    db_backoff: float = 2.0
    rate_limit_retries: int = 5       # bot.delivery.flood's rate limiter: resends after a 429's retry_after
    max_parallel_chats: int = 16      # deliveries in flight at once (the rate limiter paces them)
    digest_ttl: float = 1800.0        # seconds a computed digest is reused
    read_timeout: float = 30.0
    with_csv: bool = False            # also send the CSV as a document
    digest_buttons: bool = True       # the inline menu under each digest (bot/commands/buttons.py)
    # A delivery that failed for a passing reason waits this long before its next attempt (the
    # n-th wait after the n-th failure; the last repeats) until the grace period ends.
    retry_waits: tuple[float, ...] = (60, 120, 300, 600, 900)
    sweep_interval: float = 60.0      # how often the sweep looks for due and waiting deliveries
    progress_interval: float = 2.0    # at most one edit of a "preparing…" message this often
    alert_interval: float | None = None  # seconds between alert checks (None: ALERT_INTERVAL_MINUTES)
    alert_first: float = 5.0          # the first alert check this long after start
    alert_send_attempts: int = 10     # ticks a notice is retried on Telegram faults before it fails


def is_db_outage(exc: BaseException) -> bool:
    """Errors that mean 'the database is down or slow', worth a retry; not bugs in our SQL."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


class DatabaseDown(RuntimeError):
    def __init__(self, what: str, attempts: int, cause: BaseException):
        first_line = (str(getattr(cause, "orig", None) or cause).strip().splitlines() or [type(cause).__name__])[0]
        super().__init__(f"{what}: {first_line}")
        self.attempts = attempts


async def retry_db(what: str, make: Callable[[], Awaitable[Any]], attempts: int, backoff: float) -> Any:
    """Await make() until it succeeds; a database outage is retried with doubling waits."""
    for attempt in range(1, attempts + 1):
        try:
            return await make()
        except Exception as exc:
            if not is_db_outage(exc):
                raise
            if attempt == attempts:
                from db.engine import redact

                raise DatabaseDown(redact(what), attempts, exc) from exc
            wait = backoff * 2 ** (attempt - 1)
            log.warning("database unavailable during %s (attempt %d/%d); retrying in %.1fs",
                        what, attempt, attempts, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class DigestCache:
    """One digest computation per key at a time; concurrent callers await the same task. Each
    caller may pass `progress`: it hears the stages of the computation it waits for (called on
    the event loop, whichever worker thread the builder reports from)."""

    def __init__(self, build: Callable[..., Any], ttl: float):
        self._build = build
        self._ttl = ttl
        self._tasks: dict[tuple, tuple[float, asyncio.Task]] = {}
        self._listeners: dict[tuple, set[Progress]] = {}

    async def get(self, day: date, tz: str, locale: str, names: tuple[str, ...],
                  scope: str | None = None, progress: Progress | None = None, period: str = "day") -> Any:
        """`period` "week" / "month": the period in review that ends on `day` (reports.review)."""
        key = (day, tz, locale, names, scope, period)
        now = _time.monotonic()
        entry = self._tasks.get(key)
        if entry is None or now - entry[0] > self._ttl or (entry[1].done() and (entry[1].cancelled() or entry[1].exception())):
            log.info("computing the digest for %s (%s, %s, %s, scope %s)", day, tz, locale, ",".join(names),
                     scope or "company")
            task = asyncio.ensure_future(asyncio.to_thread(
                self._build, day, tz, locale, names, self._relay(key, asyncio.get_running_loop()), scope, period))
            self._tasks[key] = (now, task)
            self._prune(now)
            entry = self._tasks[key]
        listeners = self._listeners.setdefault(key, set())
        if progress is not None and not entry[1].done():
            listeners.add(progress)
        try:
            # shield: a cancelled waiter (one chat) must not cancel the computation others share.
            return await asyncio.shield(entry[1])
        finally:
            listeners.discard(progress)

    def _relay(self, key: tuple, loop: asyncio.AbstractEventLoop) -> Progress:
        def tell(stage: str) -> None:
            for listener in list(self._listeners.get(key, ())):
                try:
                    listener(stage)
                except Exception:
                    log.warning("progress listener failed", exc_info=True)

        # The builder calls this from its worker thread; the listeners live on the event loop.
        return lambda stage: loop.call_soon_threadsafe(tell, stage)

    def _prune(self, now: float) -> None:
        for key, (born, task) in list(self._tasks.items()):
            if task.done() and now - born > self._ttl:
                del self._tasks[key]
                self._listeners.pop(key, None)

    def cancel_all(self) -> None:
        for _, task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


def make_builder(builder: DigestBuilder, engine, source_schema: str, cfg,
                 state_schema: str = DEFAULT_STATE_SCHEMA, stages=None) -> Callable:
    """`stages` (bot.ops.telemetry.Telemetry.stages) wraps the builder's progress to time each stage."""
    def build(day: date, tz: str, locale: str, names: tuple[str, ...], progress: Progress | None = None,
              scope: str | None = None, period: str = "day"):
        req = replace(report_request(ReportDay(day, tz), locale=locale, scope=scope, metrics=names,
                                     source_schema=source_schema, state_schema=state_schema), period=period)
        with (stages(progress) if stages is not None else nullcontext(progress)) as step:
            return builder(engine, cfg, req, progress=step)
    return build
