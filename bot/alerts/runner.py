"""The alert job: every interval, evaluate each live rule, record it, send what is pending.

One tick: read the rules and the chats' subscriptions; evaluate each rule (a state rule at this
instant, a flow rule on its due day once; reports.alert_eval) in a worker thread; apply the
reading through AlertStore.record (state, log and notice in one transaction); then send every
pending notice. A notice is sent before it is marked sent, so a process killed between the two
sends that one message again at the next start (the same one-message window as the digest's
parts); killed before sending, it is sent by the next start; a transition is never recorded
twice. A database that is down skips the tick (nothing can be recorded; the next tick retries).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.alerts.notices import NoticeEvent
from bot.alerts.store import AlertStore, PendingNotice, Rule
from bot.commands.scopes import chat_scope, scope_label
from bot.ops.logs import bind
from bot.ops.telemetry import Telemetry
from bot.service import BotOptions, Clock, DatabaseDown, is_db_outage
from bot.subscriptions import Store
from db.i18n import t
from metrics.day import ReportDay
from reports.alert_eval import Reader, Reading, due_day
from reports.alert_machine import Notice, Outcome
from reports.alert_rules import STATE, format_number

log = logging.getLogger("salespulse.bot.alerts")

Notify = Callable[..., Awaitable[None]]
OnMigrate = Callable[[int, int], Awaitable[None]]


def markup(rule_id: int, quiet: bool, locale: str) -> InlineKeyboardMarkup:
    """Callback data are plain strings (`al:<rule>:<action>`) that outlive a restart."""
    if quiet:
        return InlineKeyboardMarkup([[InlineKeyboardButton(t("bot.btn_unmute", locale), callback_data=f"al:{rule_id}:r")]])
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t("bot.btn_snooze_1h", locale), callback_data=f"al:{rule_id}:h"),
        InlineKeyboardButton(t("bot.btn_snooze_tomorrow", locale), callback_data=f"al:{rule_id}:t"),
        InlineKeyboardButton(t("bot.btn_mute", locale), callback_data=f"al:{rule_id}:m"),
    ]])


def scope_part(scope: str | None, locale: str) -> str:
    return t("bot.alert_scope", locale, scope=scope) if scope else ""


def scope_changed(now: str | None, was: str | None, locale: str) -> str:
    """Why a rule is not evaluated: told to the admins, in the bot's language."""
    if now is None:  # "the whole company" reads as a place of its own in English, not a label
        return t("bot.alert_scope_changed_company", locale, was=scope_label(was, locale))
    return t("bot.alert_scope_changed", locale, now=scope_label(now, locale), was=scope_label(was, locale))


def notice_text(n: PendingNotice, rule: Rule, locale: str) -> str:
    day = t("bot.alert_value_day", locale, day=f"{n.day:%Y-%m-%d}") if n.day else ""
    band = (t("bot.alert_band", locale, low=format_number(n.low), high=format_number(n.high))
            if n.low is not None and n.high is not None else "")
    key = "alert_firing" if n.kind is Notice.FIRING else "alert_resolved"
    return t("bot." + key, locale, id=rule.id, rule=rule.spec.describe(), scope=scope_part(rule.scope, locale),
             value=format_number(n.value), day=day, band=band)


class AlertRunner:
    def __init__(self, *, bot: Bot, store: AlertStore, subs: Store, engine, source_schema: str,
                 state_schema: str, cfg, clock: Clock, options: BotOptions, interval: timedelta,
                 late: timedelta, default_tz: str, default_locale: str, notify_admins: Notify,
                 on_migrate: OnMigrate, ready: Callable[[], bool] = lambda: True, reader: Reader | None = None,
                 telemetry: Telemetry | None = None):
        self.bot, self.store, self.subs = bot, store, subs
        self.engine, self.source_schema, self.state_schema, self.cfg = engine, source_schema, state_schema, cfg
        self.clock, self.options = clock, options
        self.interval, self.late = interval, late
        self.default_tz, self.default_locale = default_tz, default_locale
        self.notify_admins = notify_admins
        self.on_migrate = on_migrate  # the digest's migration: subscription, rules, job, admins
        self.reader = reader or Reader(engine, source_schema, cfg, state_schema)
        self.telemetry = telemetry  # counts evaluations by state for /metrics
        self.ready = ready  # the state schema is migrated (bot.delivery.sweep does it, once the database answers)
        self._lock = asyncio.Lock()
        self._closed = False
        self.ticks = 0  # checks completed (tests wait on it; /status could show it)

    def close(self) -> None:
        self._closed = True

    async def _db(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def tick(self) -> None:
        if self._closed or not self.ready():
            return
        async with self._lock:
            try:
                await self._tick()
            except Exception as exc:
                if not (is_db_outage(exc) or isinstance(exc, DatabaseDown)):  # the latter: a migration's retries
                    log.exception("alert check failed")
                    return
                log.error("alert check skipped, database unavailable: %s", type(exc).__name__)

    async def _tick(self) -> None:
        now = self.clock()
        rules = await self._db(self.store.rules)
        subs = {s.chat_id: s for s in await self._db(self.subs.all)}
        # Rules that read the same numbers (one scope; the same instant, or the same day) are read
        # together, so a hundred rules in three scopes cost three hanging queries, not a hundred.
        groups: dict[tuple[str | None, ReportDay | None], list[Rule]] = {}
        readings: list[tuple[Rule, Reading, str | None]] = []
        for rule in rules:
            sub = subs.get(rule.chat_id)
            tz = sub.timezone if sub is not None else self.default_tz
            scope = chat_scope(sub)
            if rule.scope != scope:
                # Never evaluate a rule in a scope the chat no longer has (it could widen the chat).
                readings.append((rule, Reading(Outcome.FAILED, at=now, detail=scope_changed(
                    scope, rule.scope, self.default_locale)), scope))
            elif rule.spec.kind == STATE:
                groups.setdefault((scope, None), []).append(rule)
            else:
                day = due_day(now, tz, self.late)
                if rule.last_day is None or rule.last_day < day:  # else read already; the next is not complete
                    groups.setdefault((scope, ReportDay(day, tz)), []).append(rule)
        for (scope, day), group in groups.items():
            if self._closed:
                return
            got = await asyncio.to_thread(self.reader.read_all, [r.spec for r in group], scope,
                                          at=now if day is None else None, day=day)
            readings += [(rule, reading, scope) for rule, reading in zip(group, got, strict=True)]
        for rule, reading, scope in readings:
            bind(chat=rule.chat_id, metric=rule.spec.target)
            s = await self._db(self.store.record, rule.id, reading, now, scope)
            if s is not None and self.telemetry is not None:
                self.telemetry.alert_evaluated(s.to.value)
            if s is not None and s.changed:
                log.info("alert #%s (chat %s, %s): %s -> %s (value %s)", rule.id, rule.chat_id, rule.spec.describe(),
                         rule.state.value if rule.state else "new", s.to.value, reading.value)
        await self.flush()
        self.ticks += 1

    # -- sending ---------------------------------------------------------------------------------
    async def flush(self) -> None:
        for n in await self._db(self.store.pending_notices):
            if self._closed:
                return
            rule = await self._db(self.store.get, n.rule_id)
            if rule is None or not await self._db(self.store.attempt, n.id):
                continue  # removed meanwhile: its notices were cancelled with it
            await self._send(n, rule)

    async def _send(self, n: PendingNotice, rule: Rule) -> None:
        if n.kind is Notice.ERROR:
            await self.notify_admins("alert_admin_error", id=rule.id, chat_id=rule.chat_id,
                                     rule=rule.spec.describe(), error=n.detail or "—")
            await self._db(self.store.finish, n.id, NoticeEvent.SENT)
            return
        sub = await self._db(self.subs.get, n.chat_id)
        locale = (sub.locale if sub is not None and sub.locale else None) or self.default_locale
        try:
            msg = await self.bot.send_message(n.chat_id, notice_text(n, rule, locale),
                                              reply_markup=markup(rule.id, False, locale))
        except asyncio.CancelledError:
            raise  # killed: the notice stays pending and the next start sends it
        except ChatMigrated as exc:  # the group became a supergroup: the chat follows it
            log.info("alert #%s: chat %s migrated to %s; following it", rule.id, n.chat_id, exc.new_chat_id)
            await self.on_migrate(n.chat_id, exc.new_chat_id)
            return  # still pending: sent to the new id at the next check
        except (Forbidden, BadRequest) as exc:  # blocked, or a request no retry can fix
            log.warning("alert #%s: notice to chat %s failed: %s", rule.id, n.chat_id, exc.message)
            await self._db(self.store.finish, n.id, NoticeEvent.FAIL, None, f"telegram: {exc.message}")
            return
        except (NetworkError, RetryAfter) as exc:
            error = f"telegram: {getattr(exc, 'message', None) or type(exc).__name__}"
            if n.attempts + 1 >= self.options.alert_send_attempts:
                await self._db(self.store.finish, n.id, NoticeEvent.FAIL, None, error)
            else:
                await self._db(self.store.note_error, n.id, error)
            log.warning("alert #%s: notice to chat %s not sent (%s); attempt %d", rule.id, n.chat_id,
                        error, n.attempts + 1)
            return
        except Exception as exc:  # a bug fails this notice, never the other rules' checks
            log.exception("alert #%s: notice to chat %s failed", rule.id, n.chat_id)
            await self._db(self.store.finish, n.id, NoticeEvent.FAIL, None, f"{type(exc).__name__}: {exc}")
            return
        await self._db(self.store.finish, n.id, NoticeEvent.SENT, msg.message_id)
        log.info("alert #%s: %s sent to chat %s", rule.id, n.kind.value, n.chat_id)


def snooze_until(action: str, now: datetime, tz: str) -> datetime:
    """`h`: an hour from now; `t`: the next local midnight (until tomorrow)."""
    if action == "h":
        return now + timedelta(hours=1)
    tomorrow = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    return ReportDay(tomorrow, tz).start
