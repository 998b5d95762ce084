"""/alert, /alerts, the buttons under an alert, and the alert lines of /status.

Rules are managed by admins (docs/alerts.md); a rule made in a scoped chat carries the chat's
scope (section 9): no argument of /alert can name a scope, so an alert never widens a chat.
/alerts shows values, so it answers whoever may see data in the chat.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import BadRequest

from bot.alerts.runner import markup, scope_part, snooze_until
from bot.alerts.store import Rule
from bot.commands.scopes import chat_scope, may_see_data
from bot.context import BotContext
from db.i18n import t
from reports.alert_rules import STATE, format_number, parse_rule
from reports.request import ReportInputError

log = logging.getLogger("salespulse.bot.alerts")

PATTERN = r"^al:"
_PRESS = re.compile(r"al:(\d{1,18}):([htmr])")


def _when(dt: datetime | None, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") if dt else "—"


async def _context(update: Update, context: BotContext):
    data = context.bot_data
    sub = await data.delivery.db("reading a subscription", data.store.get, update.effective_chat.id)
    loc = (sub.locale if sub is not None and sub.locale else None) or data.settings.locale
    tz = sub.timezone if sub is not None else data.settings.report_timezone
    return data, sub, loc, tz


async def _reply(update: Update, text: str) -> None:
    await update.effective_message.reply_text(text, do_quote=False)


def rule_line(rule: Rule, loc: str, tz: str, now: datetime, key: str = "alert_line", **extra) -> str:
    state = rule.state.value if rule.state else t("bot.alert_never", loc)
    value = ""
    if rule.last_value is not None:
        day = t("bot.alert_value_day", loc, day=f"{rule.last_day:%Y-%m-%d}") if rule.spec.kind != STATE and rule.last_day else ""
        value = t("bot.alert_value", loc, value=format_number(rule.last_value), day=day)
    if rule.last_error:
        value += t("bot.alert_error_line", loc, error=rule.last_error[:160])
    quiet = (t("bot.alert_quiet_muted", loc) if rule.muted else
             t("bot.alert_quiet_snoozed", loc, until=_when(rule.snoozed_until, tz))
             if rule.snoozed_until is not None and rule.snoozed_until > now else "")
    return t("bot." + key, loc, id=rule.id, rule=rule.spec.describe(), scope=scope_part(rule.scope, loc), state=state,
             value=value, quiet=quiet, **extra)


async def alert(update: Update, context: BotContext) -> None:
    data, sub, loc, tz = await _context(update, context)
    chat, user = update.effective_chat, update.effective_user
    if user is None or user.id not in data.settings.admin_user_ids:
        await _reply(update, t("bot.refuse_admin", loc, user_id=user.id if user else "—", chat_id=chat.id))
        return
    args = list(context.args or [])
    if args and args[0].lower() == "off":
        if len(args) != 2 or not re.fullmatch(r"#?\d{1,18}", args[1]):
            await _reply(update, t("bot.alert_off_usage", loc))
            return
        rule_id = int(args[1].lstrip("#"))
        gone = await data.delivery.db("removing an alert", data.alerts.store.delete, chat.id, rule_id)
        log.info("chat %s: alert #%s %s by user %s", chat.id, rule_id, "removed" if gone else "not found", user.id)
        await _reply(update, t("bot.alert_removed" if gone else "bot.alert_not_found", loc, id=rule_id))
        return
    try:
        spec = parse_rule(args, data.cfg)
    except ReportInputError as exc:
        await _reply(update, exc.text(loc))
        return
    scope = chat_scope(sub)  # the chat's own, never wider
    rule = await data.delivery.db("adding an alert", data.alerts.store.create, chat.id, spec, scope, user.id)
    runner = data.alerts
    when = (t("bot.alert_when_state", loc, minutes=format_number(runner.interval.total_seconds() / 60))
            if spec.kind == STATE else
            t("bot.alert_when_flow", loc, late=_duration(runner.late, loc), tz=tz))
    log.info("chat %s: alert #%s %s added by user %s (scope %s)", chat.id, rule.id, spec.describe(), user.id,
             scope or "company")
    await _reply(update, t("bot.alert_added", loc, id=rule.id, rule=spec.describe(), scope=scope_part(scope, loc),
                           when=when))
    # Checked at once, not at the next interval: whoever adds a rule wants to know where it stands.
    context.application.create_task(runner.tick(), update=update)


def _duration(d, loc: str) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = t("unit.hour_short", loc), t("unit.minute_short", loc)
    return f"{minutes // 60} {h} {minutes % 60:02d} {m}" if minutes >= 60 else f"{minutes} {m}"


async def alerts(update: Update, context: BotContext) -> None:
    data, sub, loc, tz = await _context(update, context)
    chat, user = update.effective_chat, update.effective_user
    if not may_see_data(user.id if user else None, sub, data.settings.admin_user_ids):
        await _reply(update, t("bot.refuse_data", loc, chat_id=chat.id))
        return
    rules = await data.delivery.db("reading the alerts", data.alerts.store.rules, chat.id)
    if not rules:
        await _reply(update, t("bot.alerts_empty", loc))
        return
    await _reply(update, "\n".join([t("bot.alerts_head", loc), *(rule_line(r, loc, tz, data.clock()) for r in rules)]))


def status_lines(rules: list[Rule], loc: str, tz: str, now: datetime) -> list[str]:
    """/status: every live rule of every chat with its state, last value and last check."""
    if not rules:
        return []
    return [t("bot.status_alerts_head", loc),
            *("   " + rule_line(r, loc, tz, now, "status_alert_line", chat=r.chat_id, at=_when(r.evaluated_at, tz))
              for r in rules)]


async def on_press(update: Update, context: BotContext) -> None:
    """Snooze 1 h / until tomorrow / mute / resume: answered, then the alert message is edited."""
    query = update.callback_query
    data, _sub, loc, tz = await _context(update, context)
    m = _PRESS.fullmatch(query.data or "")
    user_id = query.from_user.id if query.from_user else None
    if m is None:
        await query.answer(t("bot.cb_stale", loc), show_alert=True)
        return
    if user_id not in data.settings.admin_user_ids:
        await query.answer(t("bot.cb_alert_admins", loc), show_alert=True)
        return
    rule_id, action = int(m.group(1)), m.group(2)
    chat_id = update.effective_chat.id
    now = data.clock()
    store = data.alerts.store
    if action in ("h", "t"):
        until = snooze_until(action, now, tz)
        change, said = {"until": until}, t("bot.alert_snoozed", loc, until=_when(until, tz), who=_who(query))
    elif action == "m":
        change, said = {"muted": True}, t("bot.alert_muted", loc, who=_who(query))
    else:
        change, said = {"until": None, "muted": False}, t("bot.alert_unmuted", loc, who=_who(query))
    rule = await data.delivery.db("changing an alert", partial(store.quieten, chat_id, rule_id, **change))
    if rule is None:
        await query.answer(t("bot.cb_alert_gone", loc), show_alert=True)
        return
    await query.answer(t("bot.cb_alert_done", loc))
    first = ((query.message.text if query.message else None) or "").split("\n")[0]
    try:
        await query.edit_message_text(f"{first}\n{said}", reply_markup=markup(rule.id, action != "r", loc))
    except BadRequest as exc:
        log.info("chat %s: alert message not edited: %s", chat_id, exc.message)
    log.info("chat %s: alert #%s %s by user %s", chat_id, rule_id, {"h": "snoozed 1 h", "t": "snoozed until tomorrow",
                                                                    "m": "muted", "r": "resumed"}[action], user_id)


def _who(query) -> str:
    u = query.from_user
    return (f"@{u.username}" if u.username else u.full_name) if u else "—"
