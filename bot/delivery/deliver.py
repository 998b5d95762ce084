"""Sending a digest to a chat, at most once per chat and day, through every Telegram fault.

The ledger row is claimed before the first request and advanced after each part Telegram
accepted, so a run killed mid-delivery resumes after the last accepted part. The one unavoidable
window: a part whose request was in flight when the process died (Telegram may or may not have
accepted it) is sent again on resume — at most one part, never the whole digest.

A failure that time may cure (the database down, Telegram unreachable after the per-part
retries) leaves the row waiting for its next attempt (bot.delivery.ledger.after_failure decides when, or
that the grace period is over); the sweep (bot.delivery.sweep) picks it up again. So does an error nobody
foresaw while sending a part (bot.delivery.parts.PartCrashed: a bug, an answer of a kind we do not know):
it may be as passing as the 429 behind issue 28, and a morning digest is not lost on the first
one; the admins hear once per kind of error. A 403 is final at once, and so is a 400 (no retry
changes the request). Sending one part, with its own retries, is bot.delivery.parts.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.delivery.ledger import Event, Outcome, State, after_failure
from bot.delivery.messages import Part, plan_parts
from bot.delivery.outage import OutageNotices
from bot.delivery.parts import PartCrashed, send_part
from bot.delivery.periods import DAY
from bot.ops.logs import bind
from bot.service import BotOptions, Clock, DatabaseDown, DigestCache, retry_db
from bot.subscriptions import Claim, Store
from db.engine import redact
from db.i18n import t

log = logging.getLogger("salespulse.bot.delivery")

OnMigrate = Callable[[int, int], Awaitable[None]]
OnDeactivate = Callable[[int], None]
AfterDigest = Callable[[int, date, str, str, tuple[str, ...]], Awaitable[None]]


class Delivery:
    def __init__(self, store: Store, cache: DigestCache, options: BotOptions, *, bot: Bot,
                 clock: Clock, grace: timedelta, admin_ids: frozenset[int], default_locale: str,
                 names: tuple[str, ...], on_migrate: OnMigrate | None = None,
                 on_deactivate: OnDeactivate | None = None, after_digest: AfterDigest | None = None):
        self.store = store
        self.cache = cache
        self.options = options
        self.bot = bot
        self.clock = clock
        self.grace = grace
        self.admin_ids = admin_ids
        self.default_locale = default_locale
        self.names = names
        # Called by migrate() on every chat migration, whether or not a subscription moved: moves
        # the chat's alert rules and, when the new chat id has a subscription, reschedules its job.
        self.on_migrate = on_migrate
        self.on_deactivate = on_deactivate  # removes the job of a chat that blocked the bot
        self.owner = uuid.uuid4().hex  # this process; ledger rows of other owners are orphans
        self.after_digest = after_digest    # the buttons under a scheduled digest (best effort)
        self.notices = OutageNotices(store, self.notify_admins, clock)
        self._inflight: set[tuple[int, date, str]] = set()  # (chat, day, period)
        self.busy_ids: set[int] = set()  # ledger rows this process is sending right now
        self._tasks: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(options.max_parallel_chats)

    # -- plumbing -------------------------------------------------------------------------
    async def db(self, what: str, fn, *args):
        return await retry_db(what, lambda: asyncio.to_thread(fn, *args),
                              self.options.db_attempts, self.options.db_backoff)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def in_flight(self, chat_id: int, day: date, period: str = DAY) -> bool:
        return (chat_id, day, period) in self._inflight

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._inflight)

    async def idle(self) -> None:
        """Wait until every spawned delivery has finished (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.cache.cancel_all()

    async def notify_admins(self, key: str, **kwargs) -> None:
        """Best effort: an admin who never opened a private chat with the bot cannot be told."""
        for admin in sorted(self.admin_ids):
            try:
                await self.bot.send_message(admin, t("bot." + key, self.default_locale, **kwargs))
            except Exception as exc:  # noqa: BLE001 - telling an admin must never break delivery
                log.warning("could not notify admin %s: %s", admin, type(exc).__name__)

    # -- sending ----------------------------------------------------------------------------
    def parts_of(self, digest) -> list[Part]:
        return plan_parts(digest.text, len(digest.charts), self.options.with_csv and bool(digest.csv))

    async def send_digest(self, chat_id: int, digest, start: int = 0, progress=None) -> int:
        """Send parts[start:], following a group that migrates; returns the final chat id."""
        parts = self.parts_of(digest)
        i = start
        while i < len(parts):
            try:
                await send_part(self.bot, self.options, chat_id, parts[i], digest)
            except ChatMigrated as exc:
                new_id = exc.new_chat_id
                log.info("chat %s migrated to %s; following it", chat_id, new_id)
                await self.migrate(chat_id, new_id)
                chat_id = new_id
                continue
            i += 1
            if progress is not None:
                await progress(i)
        return chat_id

    async def migrate(self, old: int, new: int) -> None:
        moved = await self.db(f"moving chat {old} to {new}", self.store.migrate_chat, old, new)
        # Called without a moved subscription too: a chat's alert rules follow it all the same.
        if self.on_migrate is not None:
            await self.on_migrate(old, new)
        if moved:
            await self.notify_admins("admin_migrated", old=old, new=new)

    # -- one scheduled delivery ---------------------------------------------------------
    async def deliver(self, chat_id: int, day: date, scheduled_for: datetime, tz: str,
                      locale: str | None, scope: str | None = None,
                      names: tuple[str, ...] | None = None, period: str = DAY) -> Outcome:
        """Deliver the digest of `day` (of `scope`, with the chat's own metric `names`) to
        `chat_id` unless the ledger says it is done; `period` "week" / "month": the period in
        review that ends on `day`, in a slot of its own."""
        key = (chat_id, day, period)
        bind(chat=chat_id, delivery=None)  # this task's log lines name the chat (LOG_FORMAT=json)
        if key in self._inflight:
            return Outcome.DUPLICATE
        self._inflight.add(key)
        try:
            async with self._slots:
                return await self._deliver(chat_id, (period, day), scheduled_for, tz,
                                           locale or self.default_locale, scope, names or self.names)
        finally:
            self._inflight.discard(key)

    async def _deliver(self, chat_id, slot, scheduled_for, tz, locale, scope=None, names=None) -> Outcome:
        period, day = slot
        try:
            claim = await self.db(f"claiming chat {chat_id}", self.store.claim,
                                  chat_id, day, scheduled_for, self.owner, period)
        except DatabaseDown as exc:
            # Nothing recorded: the sweep finds the slot empty again and retries it.
            log.error("chat %s, %s: delayed, database down: %s", chat_id, day, exc)
            await self.notices.delayed(day=day, chats=chat_id, error=f"database: {exc}", next_at=None,
                                       until=scheduled_for + self.grace)
            return Outcome.DELAYED
        if claim is None or claim.delivery_id in self.busy_ids:
            log.info("chat %s, %s: already delivered (or in progress); nothing to do", chat_id, day)
            return Outcome.DUPLICATE
        if claim.resumed:
            log.info("chat %s, %s: resuming an interrupted delivery after part %d",
                     chat_id, day, claim.parts_sent)
        self.busy_ids.add(claim.delivery_id)
        bind(delivery=claim.delivery_id)
        try:
            return await self._send_claimed(claim, chat_id, slot, scheduled_for, tz, locale, scope, names)
        finally:
            self.busy_ids.discard(claim.delivery_id)

    async def _send_claimed(self, claim: Claim, chat_id, slot, scheduled_for, tz, locale,
                            scope=None, names=None) -> Outcome:
        period, day = slot
        current = chat_id
        try:
            digest = await retry_db(f"computing the digest for {day}",
                                    lambda: self.cache.get(day, tz, locale, names or self.names, scope,
                                                           period=period),
                                    self.options.db_attempts, self.options.db_backoff)

            async def progress(n: int) -> None:
                await self.db(f"recording progress for chat {current}",
                              self.store.progress, claim.delivery_id, n)

            current = await self.send_digest(chat_id, digest, claim.parts_sent, progress)
            await self.db("closing the delivery", self.store.transition, claim.delivery_id,
                          Event.SENT, self.owner)
            log.info("chat %s, %s: digest delivered (%d parts)", current, day, len(self.parts_of(digest)))
            if self.after_digest is not None and period == DAY:  # the day's menu; a review has none
                await self.after_digest(current, day, tz, locale, names or self.names)
            return Outcome.SENT
        except asyncio.CancelledError:
            raise  # killed: the row stays 'working' and the next start resumes it
        except Forbidden as exc:
            await self._record(claim.delivery_id, Event.BLOCKED, f"blocked: {exc.message}")
            await self.db("deactivating", self.store.deactivate, current, f"blocked: {exc.message}")
            if self.on_deactivate is not None:
                self.on_deactivate(current)
            log.warning("chat %s blocked the bot (%s); subscription deactivated", current, exc.message)
            await self.notify_admins("admin_blocked", chat_id=current, error=exc.message)
            return Outcome.BLOCKED
        except (DatabaseDown, NetworkError, RetryAfter) as exc:
            if isinstance(exc, BadRequest):  # a 400 (a NetworkError subclass) no retry can fix
                return await self._final_failure(claim, current, day, exc)
            error = (f"database: {exc}" if isinstance(exc, DatabaseDown)
                     else f"telegram: {getattr(exc, 'message', None) or type(exc).__name__}")
            return await self._passing_failure(claim, current, day, scheduled_for, error)
        except PartCrashed as exc:
            log.error("chat %s, %s: %s", current, day, exc, exc_info=exc.__cause__)
            return await self._passing_failure(claim, current, day, scheduled_for,
                                               self._clean(str(exc)), kind=exc.kind)
        except Exception as exc:  # noqa: BLE001 - not in a part (the digest): final, never the bot
            return await self._final_failure(claim, current, day, exc)

    async def _final_failure(self, claim: Claim, chat_id, day, exc: Exception) -> Outcome:
        error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.error("chat %s, %s: delivery failed: %s", chat_id, day, error,
                  exc_info=not isinstance(exc, BadRequest))
        await self._record(claim.delivery_id, Event.FINAL, error)
        await self.notify_admins("admin_failed", day=day, chat_id=chat_id, error=error)
        return Outcome.FAILED

    def _clean(self, text: str) -> str:
        """An exception's text as the admins and the ledger may see it: no token, no password."""
        return redact(text.replace(self.bot.token, "<token>"))[:500]

    async def _passing_failure(self, claim: Claim, chat_id, day, scheduled_for, error,
                               kind: str | None = None) -> Outcome:
        decision = after_failure(Event.RETRYABLE, attempts=claim.attempts, scheduled_for=scheduled_for,
                                 now=self.clock(), grace=self.grace, error=error,
                                 waits=self.options.retry_waits)
        event = Event.RETRYABLE if decision.state is State.WAITING else Event.EXPIRE
        # If even this cannot be written (database down) the row stays 'working' and the sweep
        # resumes it once the database answers: the same retry, timed by the sweep instead.
        await self._record(claim.delivery_id, event, decision.reason, decision.next_attempt_at)
        if decision.state is State.WAITING:
            log.warning("chat %s, %s: delayed (%s); next attempt at %s", chat_id, day, error,
                        decision.next_attempt_at.isoformat())
            when = {"day": day, "chats": chat_id, "error": error, "next_at": decision.next_attempt_at,
                    "until": scheduled_for + self.grace}
            if kind is None:
                await self.notices.delayed(**when)
            else:
                await self.notices.unexpected(kind=kind, **when)
            return Outcome.DELAYED
        log.error("chat %s, %s: not delivered: %s", chat_id, day, decision.reason)
        await self.notices.gave_up(day=day, chats=chat_id, error=error)
        return Outcome.FAILED

    async def _record(self, delivery_id: int, event: Event, reason: str,
                      next_attempt_at: datetime | None = None) -> None:
        try:
            await self.db("recording the delivery", self.store.transition, delivery_id, event,
                          self.owner, reason[:1000], next_attempt_at)
        except DatabaseDown as exc:
            log.error("could not record delivery %s (%s): %s", delivery_id, event.value, exc)
