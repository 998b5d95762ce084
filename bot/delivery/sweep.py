"""The sweep: one path for the catch-up at start, the retries of waiting deliveries, and the
daily runs. It reads the subscriptions and the ledger, asks bot.delivery.ledger.plan what is due, and
does that in due-time order (each digest computed once by the DigestCache, sent through the
rate limiter). It runs at start, every `sweep_interval`, and when a chat's daily job fires.

While the database is down the sweep cannot read anything: it tries again on the growing waits
of BotOptions.retry_waits (a firing daily job tries at once) and delivers what is due as soon as
the database answers, within the grace period; later than that it records the day as skipped
and tells the admins once.
"""
from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Callable
from datetime import datetime, time, timedelta

from bot.delivery.deliver import Delivery
from bot.delivery.ledger import (
    Action,
    Event,
    State,
    Sub,
    last_occurrence,
    plan,
    report_day,
    retry_wait,
)
from bot.delivery.periods import DAY
from bot.service import Clock, is_db_outage
from bot.subscriptions import PeriodSub, Store, Subscription

log = logging.getLogger("salespulse.bot.sweep")


def due_subs(subs: list[Subscription], reviews: list[PeriodSub]) -> list[Sub]:
    """What the ledger plans for: each active chat's daily digest (unless it takes only a review)
    and its weekly and monthly digests, in the chat's zone and language (docs/plan.md)."""
    by_chat = {s.chat_id: s for s in subs}
    out = [Sub(s.chat_id, s.delivery_time, s.timezone, s.locale, s.created_at) for s in subs if s.daily]
    out += [Sub(r.chat_id, r.delivery_time, by_chat[r.chat_id].timezone, by_chat[r.chat_id].locale, r.created_at,
                r.period) for r in reviews if r.chat_id in by_chat]
    return out


class Sweeper:
    def __init__(self, delivery: Delivery, store: Store, clock: Clock, grace: timedelta, *,
                 prepare: Callable[[], None], schedule_all: Callable[[list[Subscription]], None]):
        self.delivery = delivery
        self.store = store
        self.clock = clock
        self.grace = grace
        self._prepare = prepare            # migrate the state schema (once, when it answers)
        self._schedule_all = schedule_all  # one daily job per active subscription
        self._ready = False
        self._lock = asyncio.Lock()
        self._queued = False
        self._fired: dict[int, tuple[time, str]] = {}   # jobs that fired: try now
        self._carried: dict[int, tuple[time, str]] = {}  # fired into a dead database: still due
        self._failures = 0
        self._next_try: datetime | None = None
        self._closed = False
        self.sweeps = 0  # sweeps that ran, to the end or into an outage (tests wait on it)
        self.last_run: float | None = None  # Unix time the last one ended (/healthz, /metrics)

    @property
    def ready(self) -> bool:
        """The state schema is migrated (the first sweep that reached the database did it)."""
        return self._ready

    def close(self) -> None:
        """Shutting down: no sweep may start a delivery that the shutdown would then cancel."""
        self._closed = True

    async def fire(self, chat_id: int, at: time, tz: str) -> None:
        """A chat's daily job fired: its digest is due now."""
        self._fired[chat_id] = (at, tz)
        await self.run()

    async def run(self) -> None:
        if self._queued or self._closed:
            return  # a sweep already waits for the lock and will see what was fired meanwhile
        self._queued = True
        async with self._lock:
            self._queued = False
            if self._closed:
                return
            now = self.clock()
            if self._next_try is not None and now < self._next_try and not self._fired:
                return
            fired, self._fired = {**self._carried, **self._fired}, {}
            try:
                await self._sweep(now, fired)
            except Exception as exc:
                if not is_db_outage(exc):
                    log.exception("sweep failed")
                else:
                    await self._database_down(now, fired, exc)
            else:
                self._failures, self._next_try, self._carried = 0, None, {}
            self.sweeps += 1
            self.last_run = _time.time()

    async def _database_down(self, now: datetime, fired: dict[int, tuple[time, str]], exc) -> None:
        from db.engine import redact

        error = "database: " + redact((str(getattr(exc, "orig", None) or exc).strip().splitlines()
                                       or [type(exc).__name__])[0])
        self._failures += 1
        self._next_try = now + retry_wait(self._failures, self.delivery.options.retry_waits)
        self._carried = fired  # still due: tried again with the next sweep, on the same waits
        self.delivery.notices.note_db_down(error)
        log.error("sweep: %s; trying again at %s", error, self._next_try.isoformat())
        if fired:
            first = min(last_occurrence(at, tz, now) for at, tz in fired.values())
            days = sorted({report_day(last_occurrence(at, tz, now), tz) for at, tz in fired.values()})
            await self.delivery.notices.delayed(
                day=", ".join(f"{d:%Y-%m-%d}" for d in days), chats=sorted(fired), error=error,
                next_at=self._next_try, until=first + self.grace)

    async def _sweep(self, now: datetime, fired: dict[int, tuple[time, str]]) -> None:
        if not self._ready:
            await asyncio.to_thread(self._prepare)
        subs = await asyncio.to_thread(self.store.all, True)
        reviews = await asyncio.to_thread(self.store.periods)
        if not self._ready:
            self._schedule_all(subs)
            self._ready = True
            log.info("scheduled %d subscriptions", len(subs))
        rows = await asyncio.to_thread(self.store.ledger_rows, (now - self.grace - timedelta(days=2)).date())
        down_since = self.delivery.notices.db_down_since
        missed = f"database unreachable since {down_since.isoformat()}" if down_since else "bot was down"
        todo = plan(due_subs(subs, reviews), rows, now, self.grace, busy=frozenset(self.delivery.busy_ids),
                    fired=frozenset(fired), missed_because=missed)
        by_chat = {s.chat_id: s for s in subs}  # plan delivers only for these: scope and metrics
        given_up = []
        for due in todo:
            if due.action is Action.DELIVER:
                if self.delivery.in_flight(due.chat_id, due.day, due.period):
                    continue  # queued or being sent by this process already
                late = now - due.scheduled_for
                what = "digest" if due.period == DAY else f"{due.period} in review"
                log.info("chat %s: %s for %s due (%s late)", due.chat_id, what, due.day, late)
                sub = by_chat[due.chat_id]
                self.delivery.spawn(self.delivery.deliver(due.chat_id, due.day, due.scheduled_for, due.timezone,
                                                          due.locale, sub.scope, sub.metrics, period=due.period))
            elif due.action is Action.SKIP:
                if await asyncio.to_thread(self.store.record_skipped, due.chat_id, due.day,
                                           due.scheduled_for, due.reason, due.period):
                    log.warning("chat %s: digest for %s skipped: %s", due.chat_id, due.day, due.reason)
                    if down_since is not None:
                        given_up.append(due)
            elif due.delivery_id not in self.delivery.busy_ids:
                event = Event.EXPIRE if due.action is Action.EXPIRE else Event.CANCEL
                to = await asyncio.to_thread(self.store.transition, due.delivery_id, event,
                                             self.delivery.owner, due.reason, None, None)
                log.warning("chat %s: digest for %s %s: %s", due.chat_id, due.day,
                            to.value if to else "already closed", due.reason)
                if to is State.FAILED and event is Event.EXPIRE:
                    given_up.append(due)
        if given_up:
            days = sorted({d.day for d in given_up})
            await self.delivery.notices.gave_up(
                day=", ".join(f"{d:%Y-%m-%d}" for d in days), chats=[d.chat_id for d in given_up],
                error=given_up[0].reason)
        if not todo and not self.delivery.busy and await asyncio.to_thread(self.store.open_count) == 0:
            await self.delivery.notices.over()
