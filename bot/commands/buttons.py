"""The inline buttons under a digest: previous / next day, each metric's detail, the stuck leads.

Callback data are plain strings that outlive a restart (`d:2024-03-14`, `d:2024-03-14:funnel`,
`l:2024-03-14`), never Python objects, and they carry no scope: whoever presses, the answer is
computed for the pressing chat's own scope, read from its subscription. Data that does not parse
(or names a day in the future) gets a polite "no longer valid" and nothing else.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.commands.progress import ChatProgress
from bot.commands.scopes import chat_scope, may_see_data, scope_label
from bot.context import BotContext
from bot.service import retry_db
from db.i18n import t
from metrics.day import ReportDay
from reports.registry import REGISTRY
from reports.registry import names as metric_names
from reports.request import report_request

log = logging.getLogger("salespulse.bot.buttons")

PATTERN = r"^[dl]:"
_DATA = re.compile(r"(d|l):(\d{4})-(\d{2})-(\d{2})(?::([a-z_]{1,20}))?")


@dataclass(frozen=True)
class Press:
    kind: str            # 'digest', 'metric' or 'leads'
    day: date
    metric: str | None = None


def parse_press(data: str | None) -> Press | None:
    """The button's meaning, or None for anything we did not put there ourselves."""
    m = _DATA.fullmatch(data or "")
    if not m:
        return None
    kind, metric = m.group(1), m.group(5)
    try:
        day = date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
    except ValueError:
        return None
    if kind == "l":
        return Press("leads", day) if metric is None else None
    if metric is None:
        return Press("digest", day)
    return Press("metric", day, metric) if metric in metric_names() else None


def local_today(clock, tz: str) -> date:
    return clock().astimezone(ZoneInfo(tz)).date()


def menu_markup(day: date, yesterday: date, names: tuple[str, ...], locale: str) -> InlineKeyboardMarkup:
    """Previous / next day (never past yesterday), one button per metric, the stuck leads."""
    prev_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    nav = [InlineKeyboardButton(t("bot.btn_prev", locale, day=f"{prev_day:%d.%m}"), callback_data=f"d:{prev_day}")]
    if next_day <= yesterday:
        nav.append(InlineKeyboardButton(t("bot.btn_next", locale, day=f"{next_day:%d.%m}"),
                                        callback_data=f"d:{next_day}"))
    metric_buttons = [InlineKeyboardButton(t(REGISTRY[n].button, locale), callback_data=f"d:{day}:{n}") for n in names]
    rows = [nav] + [metric_buttons[i:i + 3] for i in range(0, len(metric_buttons), 3)]
    rows.append([InlineKeyboardButton(t("bot.btn_leads", locale), callback_data=f"l:{day}")])
    return InlineKeyboardMarkup(rows)


async def send_menu(bot, chat_id: int, day: date, tz: str, locale: str, names: tuple[str, ...],
                    scope: str | None, clock) -> None:
    """Best effort: a menu that fails to send never turns a delivered digest into a failure."""
    try:
        yesterday = local_today(clock, tz) - timedelta(days=1)
        await bot.send_message(chat_id, t("bot.menu_text", locale, day=f"{day:%Y-%m-%d}",
                                          scope=scope_label(scope, locale)),
                               reply_markup=menu_markup(day, yesterday, names, locale))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        log.warning("chat %s: could not send the buttons under the digest: %s", chat_id, type(exc).__name__)


def after_digest_hook(app):
    """Delivery.after_digest: the menu under a scheduled digest, in the chat's scope."""
    async def hook(chat_id: int, day: date, tz: str, locale: str, names: tuple[str, ...]) -> None:
        if not app.bot_data.delivery.options.digest_buttons:
            return
        try:
            delivery = app.bot_data.delivery
            sub = await delivery.db("reading a subscription", delivery.store.get, chat_id)
        except Exception as exc:  # noqa: BLE001 - the digest is delivered; the menu is a nicety
            log.warning("chat %s: no buttons under the digest: %s", chat_id, exc)
            return
        await send_menu(app.bot, chat_id, day, tz, locale, _menu_names(sub), chat_scope(sub),
                        app.bot_data.clock)
    return hook


def _menu_names(sub) -> tuple[str, ...]:
    return (sub.metrics if sub is not None and sub.metrics else None) or metric_names()


async def send_chat_digest(context: BotContext, chat_id: int, sub, day: date, tz: str,
                           locale: str, names: tuple[str, ...], with_menu: bool = True,
                           progress: ChatProgress | None = None) -> None:
    """A digest on request (/report, a button), always in the chat's own scope, then the menu.
    With `progress` (/report) the "preparing…" message follows the computation's stages."""
    delivery = context.bot_data.delivery
    scope = chat_scope(sub)
    if progress is None:
        digest = await delivery.cache.get(day, tz, locale, names, scope)
    else:
        # Through the database retry, so an outage reads as one (db_down), not as a bug.
        digest = await retry_db(f"computing the report for {day}",
                                lambda: delivery.cache.get(day, tz, locale, names, scope, progress=progress.stage),
                                delivery.options.db_attempts, delivery.options.db_backoff)
        await progress.done()
    await delivery.send_digest(chat_id, digest)
    if with_menu and delivery.options.digest_buttons:
        await send_menu(context.bot, chat_id, day, tz, locale, _menu_names(sub), scope,
                        context.bot_data.clock)


def default_leads_builder(engine, source_schema: str, cfg, state_schema: str):
    """reports.stuck_leads.stuck_leads_csv, imported when first pressed (it is an optional part)."""
    def build(day: date, tz: str, scope: str | None) -> str | None:
        try:
            from reports.stuck_leads import stuck_leads_csv
        except ImportError:
            return None
        return stuck_leads_csv(engine, cfg, report_request(
            ReportDay(day, tz), scope=scope, source_schema=source_schema, state_schema=state_schema))
    return build


async def on_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    delivery, settings, clock = context.bot_data.delivery, context.bot_data.settings, context.bot_data.clock
    chat = update.effective_chat
    press = parse_press(query.data)
    sub = await delivery.db("reading a subscription", delivery.store.get, chat.id) if chat else None
    loc = (sub.locale if sub is not None and sub.locale else None) or settings.locale
    user_id = query.from_user.id if query.from_user else None
    if chat is None or not may_see_data(user_id, sub, settings.admin_user_ids):
        log.info("chat %s: button refused (not subscribed, user %s not an admin)", chat and chat.id, user_id)
        await query.answer(t("bot.cb_refused", loc), show_alert=True)
        return
    tz = sub.timezone if sub is not None else settings.report_timezone
    if press is None or press.day > local_today(clock, tz):
        log.info("chat %s: button with data %r refused", chat.id, query.data)
        await query.answer(t("bot.cb_stale", loc), show_alert=True)
        return
    await query.answer(t("bot.cb_working", loc))
    names = _menu_names(sub)
    if press.kind == "digest":
        # The new digest and a new menu replace this one: the old menu becomes a pointer.
        try:
            await query.edit_message_text(t("bot.menu_opened", loc, day=f"{press.day:%Y-%m-%d}"))
        except BadRequest as exc:
            log.info("chat %s: menu not edited: %s", chat.id, exc.message)
        await send_chat_digest(context, chat.id, sub, press.day, tz, loc, names)
    elif press.kind == "metric":
        await send_chat_digest(context, chat.id, sub, press.day, tz, loc, (press.metric,), with_menu=False)
    else:
        await _send_leads(context, chat.id, sub, press.day, tz, loc)
    log.info("chat %s: button %s answered (scope %s)", chat.id, query.data, chat_scope(sub) or "company")


async def _send_leads(context, chat_id: int, sub, day: date, tz: str, loc: str) -> None:
    delivery = context.bot_data.delivery
    scope = chat_scope(sub)
    build = context.bot_data.leads
    csv = await retry_db(f"listing stuck leads for {day}", lambda: asyncio.to_thread(build, day, tz, scope),
                         delivery.options.db_attempts, delivery.options.db_backoff)
    if csv is None:
        await context.bot.send_message(chat_id, t("bot.leads_unavailable", loc))
        return
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", scope) if scope else "company"
    await context.bot.send_document(chat_id, csv.encode("utf-8"), filename=f"stuck-leads-{day}-{slug}.csv",
                                    caption=t("bot.leads_caption", loc, day=f"{day:%Y-%m-%d}",
                                              scope=scope_label(scope, loc)))


async def on_unknown(update: Update, context: BotContext) -> None:
    """Callback data that matches no menu of ours: answered (never left spinning) and refused."""
    log.info("callback with unknown data %r refused", update.callback_query.data)
    await update.callback_query.answer(t("bot.cb_stale", context.bot_data.settings.locale), show_alert=True)
