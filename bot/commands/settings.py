"""/settings: an admin sets a chat's time, zone, language, scope and metrics with buttons.

One message that edits itself: the main screen, a picker per setting, back to the main screen
with the value saved and the job rescheduled. Callback data are plain strings (`s:time`,
`s:time=0930`, `s:tz=Europe/Moscow`, `s:scope=team:north`, `s:m=funnel`), checked on every press:
the presser must be an admin and the value must be one we could have offered.
"""
from __future__ import annotations

import logging
import re
from datetime import time
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.commands import handlers
from bot.commands.scopes import scope_label
from bot.context import BotContext
from bot.schedule import next_run, schedule_chat
from db.i18n import LOCALES, t
from metrics.scope import COMPANY, ScopeError, canonical
from reports.registry import REGISTRY
from reports.registry import names as metric_names

log = logging.getLogger("salespulse.bot.settings")

PATTERN = r"^s:"
TIMES = tuple(time(h, m) for h in range(6, 12) for m in (0, 30))
ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Moscow", "Asia/Yekaterinburg",
         "Asia/Almaty", "Asia/Dubai", "America/New_York")
_DATA = re.compile(r"s:(main|time|tz|lang|scope|metrics|done|m)(?:=(.{1,62}))?")
_CALLBACK_LIMIT = 64  # bytes, Bot API


def _main(sub, loc: str) -> tuple[str, InlineKeyboardMarkup]:
    metrics = ", ".join(sub.metrics) if sub.metrics else t("bot.all_metrics", loc)
    text = t("bot.settings_head", loc, time=f"{sub.delivery_time:%H:%M}", tz=sub.timezone,
             lang=sub.locale or "—", scope=scope_label(sub.scope, loc), metrics=metrics)
    rows = [[Button(t("bot.btn_time", loc), callback_data="s:time"), Button(t("bot.btn_tz", loc), callback_data="s:tz"),
             Button(t("bot.btn_lang", loc), callback_data="s:lang")],
            [Button(t("bot.btn_scope", loc), callback_data="s:scope"),
             Button(t("bot.btn_metrics", loc), callback_data="s:metrics")],
            [Button(t("bot.btn_done", loc), callback_data="s:done")]]
    return text, InlineKeyboardMarkup(rows)


def _grid(buttons: list[Button], loc: str, width: int = 3) -> InlineKeyboardMarkup:
    rows = [buttons[i:i + width] for i in range(0, len(buttons), width)]
    return InlineKeyboardMarkup([*rows, [Button(t("bot.btn_back", loc), callback_data="s:main")]])


def _picker(screen: str, sub, loc: str, scopes: list[str]) -> tuple[str, InlineKeyboardMarkup]:
    mark = "• "
    if screen == "time":
        return t("bot.settings_pick_time", loc), _grid(
            [Button((mark if at == sub.delivery_time else "") + f"{at:%H:%M}", callback_data=f"s:time={at:%H%M}")
             for at in TIMES], loc, 4)
    if screen == "tz":
        return t("bot.settings_pick_tz", loc), _grid(
            [Button((mark if z == sub.timezone else "") + z, callback_data=f"s:tz={z}") for z in ZONES], loc, 2)
    if screen == "lang":
        return t("bot.settings_pick_lang", loc), _grid(
            [Button((mark if lang == sub.locale else "") + t("language.name", lang), callback_data=f"s:lang={lang}")
             for lang in LOCALES], loc)
    if screen == "scope":
        options = [None, *sorted(set(scopes) | ({sub.scope} if sub.scope else set()))]
        buttons = [Button((mark if s == sub.scope else "") + scope_label(s, loc), callback_data=f"s:scope={s or COMPANY}")
                   for s in options if len(f"s:scope={s or COMPANY}".encode()) <= _CALLBACK_LIMIT]
        return t("bot.settings_pick_scope", loc), _grid(buttons, loc, 2)
    on = sub.metrics or metric_names()
    return t("bot.settings_pick_metrics", loc), _grid(
        [Button(("✅ " if n in on else "▫️ ") + t(REGISTRY[n].button, loc), callback_data=f"s:m={n}") for n in metric_names()], loc, 2)


def _change(field: str, value: str, sub) -> dict | None:
    """The store update a press asks for, or None when the value is not one we offer."""
    if field == "time":
        hm = re.fullmatch(r"([01]\d|2[0-3])([0-5]\d)", value)
        at = time(int(hm.group(1)), int(hm.group(2))) if hm else None
        return {"delivery_time": at} if at in TIMES else None
    if field == "tz":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return {"timezone": value}
    if field == "lang":
        return {"locale": value} if value in LOCALES else None
    if field == "scope":
        try:
            return {"scope": canonical(value)}
        except ScopeError:
            return None
    if field == "m" and value in metric_names():
        on = set(sub.metrics or metric_names()) ^ {value}
        if not on:
            return {}
        return {"metrics": None if on == set(metric_names()) else tuple(n for n in metric_names() if n in on)}
    return None


async def settings(update: Update, context: BotContext) -> None:
    delivery, conf = context.bot_data.delivery, context.bot_data.settings
    chat = update.effective_chat
    if not handlers._is_admin(update, conf):
        await handlers._reply(update, t("bot.refuse_admin", conf.locale, user_id=update.effective_user.id,
                                        chat_id=chat.id))
        return
    sub = await delivery.db("reading a subscription", delivery.store.get, chat.id)
    if sub is None or not sub.active:
        await handlers._reply(update, t("bot.settings_not_subscribed", conf.locale))
        return
    text, markup = _main(sub, sub.locale or conf.locale)
    await update.effective_message.reply_text(text, reply_markup=markup, do_quote=False)


async def on_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    delivery, conf = context.bot_data.delivery, context.bot_data.settings
    chat = update.effective_chat
    user = query.from_user
    if chat is None or user is None or user.id not in conf.admin_user_ids:
        await query.answer(t("bot.settings_admin_only", conf.locale), show_alert=True)
        return
    sub = await delivery.db("reading a subscription", delivery.store.get, chat.id)
    loc = (sub.locale if sub is not None else None) or conf.locale
    m = _DATA.fullmatch(query.data or "")
    if sub is None or not sub.active or m is None:
        await query.answer(t("bot.settings_not_subscribed" if m else "bot.cb_stale", loc), show_alert=True)
        return
    screen, value = m.group(1), m.group(2)
    saved = ""
    if screen == "done":
        await query.answer()
        await _edit(query, t("bot.settings_closed", loc), None)
        return
    if value is None and screen in ("time", "tz", "lang", "scope", "metrics"):
        await query.answer()
        scopes = await delivery.db("reading scopes", delivery.store.scopes_in_use) if screen == "scope" else []
        await _edit(query, *_picker(screen, sub, loc, scopes))
        return
    if value is not None:
        change = _change(screen, value, sub)
        if change is None:
            await query.answer(t("bot.cb_stale", loc), show_alert=True)
            return
        if not change:
            await query.answer(t("bot.settings_min_metric", loc), show_alert=True)
            return
        sub = await delivery.db("saving settings", partial(delivery.store.update, chat.id, **change))
        schedule_chat(context.application, sub)  # the job follows a new time or zone at once
        loc = sub.locale or conf.locale
        log.info("chat %s: settings %s changed by user %s", chat.id, change, user.id)
        saved = t("bot.settings_saved", loc, next=handlers._fmt(next_run(context.application, chat.id), sub.timezone))
        if screen == "m":
            await query.answer(saved.split(".")[0])
            await _edit(query, *_picker("metrics", sub, loc, []))
            return
    await query.answer(saved.split(".")[0] if saved else None)
    text, markup = _main(sub, loc)
    await _edit(query, f"{saved}\n\n{text}" if saved else text, markup)


async def _edit(query, text: str, markup) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # "message is not modified": the same screen pressed twice
        log.info("settings message not edited: %s", exc.message)
