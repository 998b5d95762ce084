"""Command handlers: who may do what, and the polite words for everyone else."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Update

from bot.alerts.commands import status_lines
from bot.commands.buttons import send_chat_digest
from bot.commands.periods import (
    REPORT_WORDS,
    report_period,
    split_period_arg,
    subscribe_period,
    unsubscribe_period,
)
from bot.commands.progress import ChatProgress
from bot.commands.scopes import chat_scope, may_see_data, split_scope_arg
from bot.context import BotContext
from bot.delivery.status import delivery_lines, period_lines
from bot.schedule import next_run, schedule_chat, unschedule_chat
from bot.service import DatabaseDown
from bot.subscriptions import KEEP
from db.i18n import LOCALES, t
from db.settings import SettingsError, parse_hhmm
from metrics.scope import ScopeError, canonical
from reports.registry import names as metric_names
from reports.request import ReportInputError, parse_request

log = logging.getLogger("salespulse.bot.commands")


def _ctx(context: BotContext):
    data = context.bot_data
    return data.delivery, data.settings, data.clock


def _is_admin(update: Update, settings) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings.admin_user_ids


async def _subscription(update: Update, context) -> object | None:
    delivery, _, _ = _ctx(context)
    return await delivery.db("reading a subscription", delivery.store.get, update.effective_chat.id)


def _locale(sub, settings) -> str:
    return (sub.locale if sub is not None and sub.locale else None) or settings.locale


async def _reply(update: Update, text: str) -> None:
    await update.effective_message.reply_text(text, do_quote=False)


def _fmt(dt: datetime | None, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") if dt else "—"


async def start(update: Update, context: BotContext) -> None:
    _, settings, _ = _ctx(context)
    sub = await _subscription(update, context)
    loc = _locale(sub, settings)
    state = (t("bot.state_subscribed", loc, time=f"{sub.delivery_time:%H:%M}", tz=sub.timezone)
             if sub is not None and sub.active else t("bot.state_not_subscribed", loc))
    if sub is not None and sub.scope:
        state += " " + t("bot.scope_line", loc, scope=sub.scope)
    await _reply(update, t("bot.start", loc, chat_id=update.effective_chat.id, state=state))


async def help_(update: Update, context: BotContext) -> None:
    _, settings, _ = _ctx(context)
    await _reply(update, t("bot.help", settings.locale, metrics=", ".join(metric_names()),
                           time=f"{settings.default_delivery_time:%H:%M}", tz=settings.report_timezone)
                 + "\n" + t("bot.help_scopes", settings.locale) + "\n" + t("bot.help_alerts", settings.locale)
                 + "\n" + t("bot.help_periods", settings.locale))


async def report(update: Update, context: BotContext) -> None:
    delivery, settings, clock = _ctx(context)
    chat_id = update.effective_chat.id
    sub = await _subscription(update, context)
    loc = _locale(sub, settings)
    if not may_see_data(update.effective_user.id, sub, settings.admin_user_ids):
        log.info("chat %s: /report refused (not subscribed, user not an admin)", chat_id)
        await _reply(update, t("bot.refuse_data", loc, chat_id=chat_id))
        return
    tz = sub.timezone if sub is not None else settings.report_timezone
    if context.args and context.args[0].lower() in REPORT_WORDS:  # the week or month in review
        await report_period(update, context, sub, loc, tz)
        return
    try:
        req = parse_request(list(context.args or []), clock().astimezone(ZoneInfo(tz)).date())
    except ReportInputError as exc:
        await _reply(update, t("bot.report_bad", loc, error=exc.text(loc)))
        return
    # No argument can name a scope: the chat's own (chat_scope) is the only one it ever gets.
    names = sub.metrics if req.metrics == metric_names() and sub is not None and sub.metrics else req.metrics
    shown = ChatProgress(context.bot, chat_id, loc, req.day, delivery.options.progress_interval)
    await shown.start()
    await send_chat_digest(context, chat_id, sub, req.day, tz, loc, names, progress=shown)
    log.info("chat %s: /report %s %s sent (scope %s)", chat_id, req.day, ",".join(names),
             chat_scope(sub) or "company")


def _parse_subscribe(args: list[str], settings, loc: str):
    """[HH:MM] [IANA zone] [language] [scope=TAG] in any order; returns (time, tz, locale, scope)
    or an error text. The scope is KEEP unless given: re-subscribing never widens a chat."""
    args, scope_text = split_scope_arg(args)
    scope = KEEP
    if scope_text is not None:
        try:
            scope = canonical(scope_text)
        except ScopeError as exc:
            return exc.text(loc)
    at, tz, locale = None, None, None
    for arg in args:
        if arg[:1].isdigit() and at is None:
            try:
                at = parse_hhmm("time", arg)
            except SettingsError:
                return t("bot.bad_time", loc, value=arg)
        elif arg.lower() in LOCALES and locale is None:
            locale = arg.lower()
        elif tz is None:
            try:
                ZoneInfo(arg)
            except (ZoneInfoNotFoundError, ValueError):
                return t("bot.bad_tz", loc, value=arg)
            tz = arg
        else:
            return t("bot.bad_args", loc, langs="|".join(LOCALES))
    return at or settings.default_delivery_time, tz or settings.report_timezone, locale, scope


async def subscribe(update: Update, context: BotContext) -> None:
    delivery, settings, _ = _ctx(context)
    chat = update.effective_chat
    loc = settings.locale
    if not _is_admin(update, settings):
        await _reply(update, t("bot.refuse_admin", loc, user_id=update.effective_user.id, chat_id=chat.id))
        return
    args, period = split_period_arg(list(context.args or []))  # weekly / monthly: docs/plan.md
    parsed = _parse_subscribe(args, settings, loc)
    if isinstance(parsed, str):
        await _reply(update, parsed)
        return
    if period not in (None, "day"):
        await subscribe_period(update, context, parsed, period)
        return
    at, tz, locale, scope = parsed
    title = chat.title or chat.full_name or chat.username
    sub = await delivery.db("subscribing", delivery.store.subscribe, chat.id, title, at, tz, locale,
                            update.effective_user.id, scope)
    schedule_chat(context.application, sub)
    loc = _locale(sub, settings)
    log.info("chat %s subscribed at %s %s (scope %s) by user %s", chat.id, at, tz, sub.scope or "company",
             update.effective_user.id)
    await _reply(update, t("bot.subscribed_scope" if sub.scope else "bot.subscribed", loc, time=f"{at:%H:%M}", tz=tz,
                           scope=sub.scope, next=_fmt(next_run(context.application, chat.id), tz)))


async def unsubscribe(update: Update, context: BotContext) -> None:
    delivery, settings, _ = _ctx(context)
    chat = update.effective_chat
    if not _is_admin(update, settings):
        await _reply(update, t("bot.refuse_admin", settings.locale, user_id=update.effective_user.id,
                               chat_id=chat.id))
        return
    _, period = split_period_arg(list(context.args or []))
    if period is not None:  # that digest only; the others stay
        await unsubscribe_period(update, context, period)
        return
    changed = await delivery.db("unsubscribing", delivery.store.deactivate, chat.id,
                                f"unsubscribed by {update.effective_user.id}")
    unschedule_chat(context.application, chat.id)
    log.info("chat %s unsubscribed by user %s", chat.id, update.effective_user.id)
    await _reply(update, t("bot.unsubscribed" if changed else "bot.not_subscribed", settings.locale))


async def status(update: Update, context: BotContext) -> None:
    delivery, settings, _ = _ctx(context)
    loc = settings.locale
    if not _is_admin(update, settings):
        await _reply(update, t("bot.refuse_admin", loc, user_id=update.effective_user.id,
                               chat_id=update.effective_chat.id))
        return
    subs = await delivery.db("reading subscriptions", delivery.store.all)
    rules = await delivery.db("reading the alerts", context.bot_data.alerts.store.rules)
    alert_lines = status_lines(rules, loc, settings.report_timezone, context.bot_data.clock())
    if not subs and not rules:
        await _reply(update, t("bot.status_empty", loc))
        return
    last = await delivery.db("reading the ledger", delivery.store.last_deliveries) if subs else {}
    reviews = await delivery.db("reading subscriptions", delivery.store.periods) if subs else []
    lines = [t("bot.status_head", loc)] if subs else []
    for s in subs:
        recent = last.get(s.chat_id, [])
        lines.append(t("bot.status_line", loc, chat=s.chat_id, title=f"{s.chat_title} " if s.chat_title else "",
            state=t("bot.active", loc) if s.active else t("bot.inactive", loc, reason=s.deactivated_reason or "—"),
            time=f"{s.delivery_time:%H:%M}", tz=s.timezone,
            next=_fmt(next_run(context.application, s.chat_id), s.timezone),
            last=recent[0].state.value if recent else t("bot.never", loc)))
        if s.active:  # its weekly and monthly digests (docs/plan.md)
            lines += period_lines([r for r in reviews if r.chat_id == s.chat_id], loc, s.timezone, context.bot_data.clock())
        lines += delivery_lines(recent, loc, s.timezone)
    lines += alert_lines
    from bot.delivery.messages import split_text

    for chunk in split_text("\n".join(lines)):
        await _reply(update, chunk)


async def migrated(update: Update, context: BotContext) -> None:
    """The service message in the old group when it becomes a supergroup."""
    delivery, _, _ = _ctx(context)
    msg = update.effective_message
    if msg.migrate_to_chat_id:
        await delivery.migrate(msg.chat_id, msg.migrate_to_chat_id)


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its traceback (token redacted by the log filter); the chat gets one
    polite sentence and never a stack trace."""
    settings = context.bot_data.settings
    err = context.error
    db_down = isinstance(err, DatabaseDown)
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    if db_down:
        log.error("chat %s: database down while handling an update: %s", chat_id, err)
    else:
        log.error("chat %s: error while handling an update", chat_id, exc_info=err)
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None:  # a pressed button is answered even when its handler failed
        try:
            await query.answer()
        except Exception as exc:  # noqa: BLE001 - already answered, or too old
            log.debug("callback query not answered: %s", type(exc).__name__)
    if chat_id is None:
        return
    try:
        await context.bot.send_message(chat_id, t("bot.db_down" if db_down else "bot.error", settings.locale))
    except Exception as exc:  # noqa: BLE001
        log.warning("chat %s: could not send the error notice: %s", chat_id, type(exc).__name__)
