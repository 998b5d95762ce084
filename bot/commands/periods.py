"""The week and the month in review in a chat (docs/plan.md): `/subscribe 09:00 Europe/Moscow
weekly` (or `monthly`), `/unsubscribe weekly`, `/report week`, `/report month [DATE]`.

A weekly digest goes out on Monday for the week before (Monday to Sunday), a monthly one on the
1st for the month before, each at its own time in the chat's zone (bot.delivery.periods); a chat
may take them besides its daily digest or instead of it. Everything else about the chat (scope,
language, metrics, who may see it) is its subscription's, as for the daily digest.
"""
from __future__ import annotations

import logging
from functools import partial
from zoneinfo import ZoneInfo

from telegram import Update

from bot.commands.progress import ChatProgress
from bot.commands.scopes import chat_scope
from bot.context import BotContext
from bot.delivery.periods import DAY, MONTH, WEEK, next_run
from bot.service import retry_db
from db.i18n import t
from db.i18n.formats import fmt_period
from metrics.periods import containing, last_complete
from reports.request import ReportInputError, parse_date

log = logging.getLogger("salespulse.bot.commands")

WORDS = {"daily": DAY, "weekly": WEEK, "monthly": MONTH}  # what /subscribe and /unsubscribe take
REPORT_WORDS = {"week": WEEK, "month": MONTH}           # what /report takes


def split_period_arg(args: list[str]) -> tuple[list[str], str | None]:
    """The arguments without a daily / weekly / monthly word, and the period it names (None: none)."""
    found = [WORDS[a.lower()] for a in args if a.lower() in WORDS]
    return [a for a in args if a.lower() not in WORDS], (found[-1] if found else None)


async def _reply(update: Update, text: str) -> None:
    await update.effective_message.reply_text(text, do_quote=False)


def _when(dt, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


async def subscribe_period(update: Update, context: BotContext, parsed: tuple, period: str) -> None:
    """`/subscribe [HH:MM] [zone] [language] [scope=…] weekly|monthly` by an admin (checked)."""
    data = context.bot_data
    delivery, settings = data.delivery, data.settings
    chat, user = update.effective_chat, update.effective_user
    at, tz, locale, scope = parsed
    title = chat.title or chat.full_name or chat.username
    sub = await delivery.db("subscribing", delivery.store.subscribe, chat.id, title, at, tz, locale, user.id,
                            scope, None, False)
    await delivery.db("subscribing", delivery.store.set_period, chat.id, period, at)
    loc = (sub.locale or None) or settings.locale
    log.info("chat %s subscribed to the %s in review at %s %s by user %s", chat.id, period, at, tz, user.id)
    await _reply(update, t(f"bot.subscribed_{period}", loc, time=f"{at:%H:%M}", tz=tz,
                           next=_when(next_run(period, at, tz, data.clock()), tz)))


async def unsubscribe_period(update: Update, context: BotContext, period: str) -> None:
    """`/unsubscribe daily|weekly|monthly` by an admin (checked): that digest only (the chat's
    last one: the chat is unsubscribed)."""
    from bot.schedule import unschedule_chat

    delivery, settings = context.bot_data.delivery, context.bot_data.settings
    chat = update.effective_chat
    if period == DAY:
        sub = await delivery.db("reading a subscription", delivery.store.get, chat.id)
        others = await delivery.db("reading a subscription", delivery.store.periods, chat.id)
        gone = sub is not None and sub.active and sub.daily
        if gone and others:
            await delivery.db("unsubscribing", partial(delivery.store.update, daily=False), chat.id)
        elif gone:
            await delivery.db("unsubscribing", delivery.store.deactivate, chat.id,
                              f"unsubscribed by {update.effective_user.id}")
        unschedule_chat(context.application, chat.id)
    else:
        gone = await delivery.db("unsubscribing", delivery.store.drop_period, chat.id, period)
    log.info("chat %s: the %s in review %s by user %s", chat.id, period, "off" if gone else "was not on",
             update.effective_user.id)
    await _reply(update, t(f"bot.unsubscribed_{period}" if gone else "bot.not_subscribed", settings.locale))


async def report_period(update: Update, context: BotContext, sub, loc: str, tz: str) -> None:
    """`/report week|month [DATE]`: the period that contains DATE, by default the last complete
    one; a period not over yet is refused (the daily digest has its pace)."""
    data = context.bot_data
    delivery = data.delivery
    chat_id = update.effective_chat.id
    args = list(context.args or [])
    kind = REPORT_WORDS[args[0].lower()]
    today = data.clock().astimezone(ZoneInfo(tz)).date()
    last = last_complete(kind, today)
    try:
        if len(args) > 2:
            raise ReportInputError("error.report_period_args")
        period = containing(kind, parse_date(args[1], today)) if len(args) == 2 else last
    except ReportInputError as exc:
        await _reply(update, t("bot.report_bad", loc, error=exc.text(loc)))
        return
    if period.end >= today:
        await _reply(update, t(f"bot.{kind}_not_over", loc, period=fmt_period(kind, period.start, period.end, loc),
                               last=fmt_period(kind, last.start, last.end, loc)))
        return
    names = sub.metrics if sub is not None and sub.metrics else delivery.names
    shown = ChatProgress(context.bot, chat_id, loc, period.end, delivery.options.progress_interval)
    await shown.start()
    review = await retry_db(f"computing the {kind} in review to {period.end}",
                            lambda: delivery.cache.get(period.end, tz, loc, names, chat_scope(sub),
                                                       progress=shown.stage, period=kind),
                            delivery.options.db_attempts, delivery.options.db_backoff)
    await shown.done()
    await delivery.send_digest(chat_id, review)
    log.info("chat %s: /report %s to %s sent (scope %s)", chat_id, kind, period.end, chat_scope(sub) or "company")
