"""The alert rules' words, in English and Russian (merged into bot.i18n.TEXTS)."""
from __future__ import annotations

ALERT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "help_alerts": (
            "/alert TARGET OP NUMBER or /alert TARGET unusual — tell this chat when a number crosses "
            "a line (admins), e.g. /alert hanging > 10, /alert new_payers < 3, /alert revenue unusual\n"
            "/alerts — this chat's rules and their states; /alert off ID removes one (admins)"
        ),
        "alert_added": (
            "Alert #{id} added: {rule}{scope}. {when} I write here when it starts firing and when it "
            "is back to normal. /alerts lists the rules."
        ),
        "alert_when_state": "Checked every {minutes} min.",
        "alert_when_flow": "Checked once a day for the day before, {late} after midnight ({tz}).",
        "alert_scope": " (scope {scope})",
        "alert_removed": "Alert #{id} removed.",
        "alert_not_found": "There is no alert #{id} in this chat; /alerts lists them.",
        "alert_off_usage": "Use /alert off ID, e.g. /alert off 3 (/alerts shows the ids).",
        "alerts_empty": "No alert rules in this chat. Add one with /alert, e.g. /alert hanging > 10",
        "alerts_head": "Alert rules of this chat:",
        "alert_line": "#{id} {rule}{scope} — {state}{value}{quiet}",
        "alert_value": "; last value {value}{day}",
        "alert_value_day": " on {day}",
        "alert_never": "not checked yet",
        "alert_quiet_snoozed": "; snoozed until {until}",
        "alert_quiet_muted": "; muted",
        "alert_error_line": "; error: {error}",
        "alert_firing": "⚠️ Alert #{id}: {rule}{scope}. Now {value}{day}{band}.",
        "alert_resolved": "✅ Resolved, alert #{id}: {rule}{scope}. Now {value}{day}.",
        "alert_band": " (usually {low}–{high})",
        "alert_admin_error": (
            "SalesPulse: alert #{id} in chat {chat_id} ({rule}) cannot be evaluated: {error}. "
            "It is in state error until it can; the chat is not told."
        ),
        "alert_scope_changed": "the chat's scope is now {now}, the rule was made for {was}; remove it and add it again",
        "btn_snooze_1h": "Snooze 1 h",
        "btn_snooze_tomorrow": "Until tomorrow",
        "btn_mute": "Mute",
        "btn_unmute": "Resume",
        "alert_snoozed": "Snoozed until {until} by {who}.",
        "alert_muted": "Muted by {who}; /alerts or the button below resumes it.",
        "alert_unmuted": "Resumed by {who}.",
        "cb_alert_done": "Done.",
        "cb_alert_admins": "Only SalesPulse admins can snooze or mute alerts.",
        "cb_alert_gone": "This alert no longer exists.",
        "status_alerts_head": "Alert rules:",
        "status_alert_line": "#{id} chat {chat} {rule}{scope} — {state}{value}{quiet}; checked {at}",
    },
    "ru": {
        "help_alerts": (
            "/alert ЦЕЛЬ ОП ЧИСЛО или /alert ЦЕЛЬ unusual — сообщать в этот чат, когда число выходит за "
            "порог (админы), например /alert hanging > 10, /alert new_payers < 3, /alert revenue unusual\n"
            "/alerts — правила этого чата и их состояние; /alert off ID — удалить правило (админы)"
        ),
        "alert_added": (
            "Оповещение #{id} добавлено: {rule}{scope}. {when} Напишу сюда, когда оно сработает и когда "
            "всё вернётся в норму. /alerts — список правил."
        ),
        "alert_when_state": "Проверка каждые {minutes} мин.",
        "alert_when_flow": "Проверка раз в день за прошедший день, через {late} после полуночи ({tz}).",
        "alert_scope": " (область {scope})",
        "alert_removed": "Оповещение #{id} удалено.",
        "alert_not_found": "В этом чате нет оповещения #{id}; список — /alerts.",
        "alert_off_usage": "Используйте /alert off ID, например /alert off 3 (номера — в /alerts).",
        "alerts_empty": "В этом чате нет правил оповещений. Добавьте: /alert hanging > 10",
        "alerts_head": "Правила оповещений этого чата:",
        "alert_line": "#{id} {rule}{scope} — {state}{value}{quiet}",
        "alert_value": "; последнее значение {value}{day}",
        "alert_value_day": " за {day}",
        "alert_never": "ещё не проверялось",
        "alert_quiet_snoozed": "; отложено до {until}",
        "alert_quiet_muted": "; без звука",
        "alert_error_line": "; ошибка: {error}",
        "alert_firing": "⚠️ Оповещение #{id}: {rule}{scope}. Сейчас {value}{day}{band}.",
        "alert_resolved": "✅ В норме, оповещение #{id}: {rule}{scope}. Сейчас {value}{day}.",
        "alert_band": " (обычно {low}–{high})",
        "alert_admin_error": (
            "SalesPulse: оповещение #{id} в чате {chat_id} ({rule}) не удаётся проверить: {error}. "
            "Оно в состоянии error, пока проверка не пройдёт; чату об этом не сообщается."
        ),
        "alert_scope_changed": "область чата теперь {now}, а правило создано для {was}; удалите его и добавьте заново",
        "btn_snooze_1h": "Отложить на 1 ч",
        "btn_snooze_tomorrow": "До завтра",
        "btn_mute": "Без звука",
        "btn_unmute": "Возобновить",
        "alert_snoozed": "Отложено до {until}, {who}.",
        "alert_muted": "Звук выключен, {who}; кнопка ниже возобновит.",
        "alert_unmuted": "Возобновлено, {who}.",
        "cb_alert_done": "Готово.",
        "cb_alert_admins": "Откладывать и выключать оповещения могут только администраторы SalesPulse.",
        "cb_alert_gone": "Этого оповещения больше нет.",
        "status_alerts_head": "Правила оповещений:",
        "status_alert_line": "#{id} чат {chat} {rule}{scope} — {state}{value}{quiet}; проверено {at}",
    },
}
