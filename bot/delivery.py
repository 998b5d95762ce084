"""Sending a digest to a chat, at most once per chat and day, through every Telegram fault.

The ledger row is claimed before the first request and advanced after each part Telegram
accepted, so a run killed mid-delivery resumes after the last accepted part. The one unavoidable
window: a part whose request was in flight when the process died (Telegram may or may not have
accepted it) is sent again on resume — at most one part, never the whole digest.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date, datetime

from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.i18n import t
from bot.messages import Part, plan_parts
from bot.service import BotOptions, DatabaseDown, DigestCache, retry_db
from bot.store import Store

log = logging.getLogger("salespulse.bot.delivery")


class Delivery:
    def __init__(self, store: Store, cache: DigestCache, options: BotOptions,
                 admin_ids: frozenset[int], default_locale: str, names: tuple[str, ...]):
        self.store = store
        self.cache = cache
        self.options = options
        self.admin_ids = admin_ids
        self.default_locale = default_locale
        self.names = names
        self.owner = uuid.uuid4().hex  # this process; ledger rows of other owners are orphans
        self.bot: Bot | None = None
        self.on_migrate = None  # set by the app: reschedules the job under the new chat id
        self.on_deactivate = None
        self._inflight: set[tuple[int, date]] = set()
        self._tasks: set[asyncio.Task] = set()
        self._notified: set[tuple] = set()
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

    async def idle(self) -> None:
        """Wait until every spawned delivery has finished (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.cache.cancel_all()

    async def notify_admins(self, key: str, once: tuple | None = None, **kwargs) -> None:
        """Best effort: an admin who never opened a private chat with the bot cannot be told."""
        if once is not None:
            if once in self._notified:
                return
            self._notified.add(once)
        for admin in sorted(self.admin_ids):
            try:
                await self.bot.send_message(admin, t(self.default_locale, key, **kwargs))
            except Exception as exc:  # noqa: BLE001 - telling an admin must never break delivery
                log.warning("could not notify admin %s: %s", admin, type(exc).__name__)

    # -- sending ----------------------------------------------------------------------------
    async def send_part(self, chat_id: int, part: Part, digest) -> None:
        """One request, retried on timeouts, 5xx and a 429 that outlived the rate limiter."""
        opts = self.options
        for attempt in range(1, opts.send_attempts + 1):
            try:
                await self._request(chat_id, part, digest)
                return
            except (BadRequest, Forbidden, ChatMigrated):
                raise
            except (NetworkError, RetryAfter) as exc:
                if attempt == opts.send_attempts:
                    raise
                wait = (exc.retry_after.total_seconds() if isinstance(exc, RetryAfter)
                        else opts.send_backoff * 2 ** (attempt - 1))
                log.warning("chat %s: %s on %s (attempt %d/%d); retrying in %.1fs", chat_id,
                            type(exc).__name__, part.kind, attempt, opts.send_attempts, wait)
                await asyncio.sleep(wait)

    async def _request(self, chat_id: int, part: Part, digest) -> None:
        bot = self.bot
        if part.kind == "text":
            await bot.send_message(chat_id, part.text)
        elif part.kind == "photo":
            chart = digest.charts[part.images[0]]
            await bot.send_photo(chat_id, chart.png, caption=part.text or None,
                                 filename=f"{chart.name}.png")
        elif part.kind == "album":
            media = [
                InputMediaPhoto(digest.charts[i].png, caption=(part.text or None) if n == 0 else None,
                                filename=f"{digest.charts[i].name}.png")
                for n, i in enumerate(part.images)
            ]
            await bot.send_media_group(chat_id, media)
        else:
            await bot.send_document(chat_id, digest.csv.encode("utf-8"),
                                    filename=f"salespulse-{digest.report_date:%Y-%m-%d}.csv")

    def parts_of(self, digest) -> list[Part]:
        return plan_parts(digest.text, len(digest.charts), self.options.with_csv and bool(digest.csv))

    async def send_digest(self, chat_id: int, digest, start: int = 0, progress=None) -> int:
        """Send parts[start:], following a group that migrates; returns the final chat id."""
        parts = self.parts_of(digest)
        i = start
        while i < len(parts):
            try:
                await self.send_part(chat_id, parts[i], digest)
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
        if moved and self.on_migrate is not None:
            await self.on_migrate(old, new)
        if moved:
            await self.notify_admins("admin_migrated", old=old, new=new)

    # -- one scheduled delivery ---------------------------------------------------------
    async def deliver(self, chat_id: int, day: date, scheduled_for: datetime, tz: str,
                      locale: str | None) -> str:
        """Deliver the digest of `day` to `chat_id` unless the ledger says it is done.
        Returns the outcome: sent, duplicate, failed, blocked."""
        key = (chat_id, day)
        if key in self._inflight:
            return "duplicate"
        self._inflight.add(key)
        try:
            async with self._slots:
                return await self._deliver(chat_id, day, scheduled_for, tz, locale or self.default_locale)
        finally:
            self._inflight.discard(key)

    async def _deliver(self, chat_id, day, scheduled_for, tz, locale) -> str:
        try:
            claim = await self.db(f"claiming chat {chat_id}", self.store.claim,
                                  chat_id, day, scheduled_for, self.owner)
        except DatabaseDown as exc:
            log.error("chat %s, %s: not delivered, database down: %s", chat_id, day, exc)
            await self.notify_admins("admin_db", once=("db", day), day=day, error=exc,
                                     attempts=exc.attempts, chats=chat_id)
            return "failed"
        if claim is None:
            log.info("chat %s, %s: already delivered (or in progress); nothing to do", chat_id, day)
            return "duplicate"
        if claim.resumed:
            log.info("chat %s, %s: resuming an interrupted delivery after part %d",
                     chat_id, day, claim.parts_sent)
        current = chat_id
        try:
            digest = await retry_db(f"computing the digest for {day}",
                                    lambda: self.cache.get(day, tz, locale, self.names),
                                    self.options.db_attempts, self.options.db_backoff)

            async def progress(n: int) -> None:
                await self.db(f"recording progress for chat {current}",
                              self.store.progress, claim.delivery_id, n)

            current = await self.send_digest(chat_id, digest, claim.parts_sent, progress)
            await self.db("closing the delivery", self.store.finish, claim.delivery_id, "sent")
            log.info("chat %s, %s: digest delivered (%d parts)", current, day, len(self.parts_of(digest)))
            return "sent"
        except asyncio.CancelledError:
            raise  # killed: the row stays 'working' and the next start resumes it
        except Forbidden as exc:
            await self._close(claim.delivery_id, "failed", f"blocked: {exc.message}")
            await self.db("deactivating", self.store.deactivate, current, f"blocked: {exc.message}")
            if self.on_deactivate is not None:
                self.on_deactivate(current)
            log.warning("chat %s blocked the bot (%s); subscription deactivated", current, exc.message)
            await self.notify_admins("admin_blocked", chat_id=current, error=exc.message)
            return "blocked"
        except DatabaseDown as exc:
            log.error("chat %s, %s: not delivered, database down: %s", current, day, exc)
            await self._close(claim.delivery_id, "failed", f"database: {exc}")
            await self.notify_admins("admin_db", once=("db", day), day=day, error=exc,
                                     attempts=exc.attempts, chats=current)
            return "failed"
        except Exception as exc:
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.error("chat %s, %s: delivery failed: %s", current, day, error,
                      exc_info=not isinstance(exc, (NetworkError, RetryAfter)))
            await self._close(claim.delivery_id, "failed", error)
            await self.notify_admins("admin_failed", day=day, chat_id=current, error=error)
            return "failed"

    async def _close(self, delivery_id: int, state: str, error: str) -> None:
        try:
            await self.db("closing the delivery", self.store.finish, delivery_id, state, error[:1000])
        except DatabaseDown as exc:
            log.error("could not record delivery %s as %s: %s", delivery_id, state, exc)
