"""Every sentence the bot says, in English and Russian. No numbers from the data ever go into
a refusal."""
from __future__ import annotations

from reports.registry import REGISTRY

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": (
            "Hi! I am SalesPulse: the sales numbers from your database, every morning.\n"
            "This chat's id is {chat_id}. {state}\n\nCommands: /help"
        ),
        "state_subscribed": "This chat receives the digest daily at {time} ({tz}).",
        "state_not_subscribed": "This chat is not subscribed; an admin can send /subscribe here.",
        "help": (
            "/report [date|today|yesterday] [metric] — the digest now, e.g. /report 2024-03-14 funnel\n"
            "   metrics: {metrics}\n"
            "/subscribe [HH:MM] [time zone] — daily digest in this chat (admins; default {time} {tz})\n"
            "/unsubscribe — stop the daily digest here (admins)\n"
            "/status — every subscription, its next run and last delivery (admins)\n"
            "/help — this text"
        ),
        "refuse_data": (
            "Sorry, this chat is not allowed to see the reports. Ask an admin to subscribe it; "
            "give them this chat id: {chat_id}"
        ),
        "refuse_admin": (
            "Sorry, only SalesPulse admins can do that. Your user id is {user_id}, this chat's id "
            "is {chat_id}; an admin can add you to ADMIN_USER_IDS."
        ),
        "bad_time": "'{value}' is not a time of day; use HH:MM, e.g. /subscribe 08:45 Europe/Moscow",
        "bad_tz": "'{value}' is not a time zone; use an IANA name such as Europe/Moscow, Europe/Berlin or UTC",
        "bad_args": "Too many arguments; use /subscribe [HH:MM] [time zone] [en|ru], e.g. /subscribe 08:45 Europe/Moscow",
        "subscribed": "Subscribed: the digest comes here daily at {time} ({tz}). Next: {next}.",
        "unsubscribed": "Unsubscribed: no more daily digests in this chat.",
        "not_subscribed": "This chat was not subscribed.",
        "computing": "Computing the report for {day}…",
        "report_bad": "{error}",
        "status_empty": "No subscriptions yet. Send /subscribe in a chat to add one.",
        "status_head": "Subscriptions:",
        "status_line": "{chat} {title}— {state}, {time} {tz}; next {next}; last {last}",
        "active": "active",
        "inactive": "off ({reason})",
        "never": "never",
        "error": "Sorry, something went wrong on my side; the admins can find it in the logs. Please try again later.",
        "db_down": "Sorry, the database is not reachable right now; please try again in a few minutes.",
        "admin_blocked": "SalesPulse: chat {chat_id} blocked the bot or removed it ({error}); its subscription is now off.",
        "admin_failed": "SalesPulse: the digest for {day} could not be delivered to chat {chat_id}: {error}",
        "admin_delayed": (
            "SalesPulse: the digest for {day} to chat {chats} is delayed: {error} (failing since {since}). "
            "I keep retrying until {until}; next attempt {next}. No more messages about this outage "
            "unless it is given up; /status shows each delivery."
        ),
        "admin_gave_up": (
            "SalesPulse: the digest for {day} could not be delivered to chat {chats}: {error}. "
            "Failing since {since}; it will not be retried."
        ),
        "admin_gave_up_db": (
            "SalesPulse: the database failed while preparing the digest for {day}: {error}. "
            "Failing since {since}; chats not delivered: {chats}. It will not be retried."
        ),
        "computing_stage": "Computing the report for {day}… {stage}",
        "report_ready": "The report for {day} is ready:",
        "status_sent": "{day}: sent {at}",
        "status_working": "{day}: being sent now (due {due})",
        "status_delayed": "{day}: delayed (due {due}); next attempt {next}, attempt {attempts} so far, failing since {since}; last error: {reason}",
        "status_failed": "{day}: failed {at}: {reason}",
        "status_skipped": "{day}: skipped: {reason}",
        "admin_migrated": "SalesPulse: chat {old} became supergroup {new}; its subscription moved with it.",
        # -- scopes, invites, buttons, /settings (issue 13) --
        "help_scopes": (
            "/invite TAG — a single-use link that subscribes a chat to that scope's digest (admins)\n"
            "/settings — this chat's time, zone, language, scope and metrics, with buttons (admins)\n"
            "/subscribe … scope=TAG — this chat sees only that scope (admins; scope=* for the whole company)"
        ),
        "scope_line": "Scope: {scope}.",
        "subscribed_scope": "Subscribed: the digest for {scope} comes here daily at {time} ({tz}). Next: {next}.",
        "invite_usage": "Use /invite TAG, e.g. /invite manager:ivanov or /invite team:north & region:msk",
        "invite_made": (
            "Invite to the digest of {scope}, single use, valid until {until}.\n"
            "For a private chat: {private}\nFor a group: {group}\n"
            "Whoever opens it gets the digest of {scope} daily at {time} ({tz})."
        ),
        "invite_forged": "Sorry, this invite link is not valid. Please ask an admin for a new one.",
        "invite_expired": "Sorry, this invite link has expired. Please ask an admin for a new one.",
        "invite_used": "Sorry, this invite link has already been used. Please ask an admin for a new one.",
        "invite_chat_taken": "This chat already receives its digest; only an admin can change what it sees.",
        "invite_welcome": (
            "Welcome! This chat now receives the digest for {scope} daily at {time} ({tz}). "
            "Ask for it any time with /report."
        ),
        "menu_text": "More for {day} ({scope}):",
        "menu_opened": "The digest for {day} follows below.",
        "btn_prev": "◀ {day}",
        "btn_next": "{day} ▶",
        "btn_leads": "Stuck leads (CSV)",
        "cb_working": "Working on it…",
        "cb_stale": "This button is no longer valid; send /report for a fresh menu.",
        "cb_refused": "Sorry, this chat is not allowed to see the reports.",
        "leads_unavailable": "Sorry, the stuck-lead list is not available in this version.",
        "leads_caption": "Stuck leads on {day} ({scope})",
        "settings_head": (
            "Settings of this chat:\ntime {time} ({tz})\nlanguage {lang}\nscope {scope}\nmetrics {metrics}"
        ),
        "settings_saved": "Saved. Next digest: {next}.",
        "settings_not_subscribed": "This chat is not subscribed; send /subscribe here first.",
        "settings_admin_only": "Only SalesPulse admins can change the settings.",
        "settings_pick_time": "Delivery time (another: /subscribe HH:MM):",
        "settings_pick_tz": "Time zone (another: /subscribe HH:MM Area/City):",
        "settings_pick_lang": "Language:",
        "settings_pick_scope": "Scope (another: /subscribe scope=TAG):",
        "settings_pick_metrics": "Metrics in the digest (tap to switch on or off):",
        "settings_min_metric": "At least one metric must stay on.",
        "settings_closed": "Settings closed.",
        "btn_time": "Time",
        "btn_tz": "Zone",
        "btn_lang": "Language",
        "btn_scope": "Scope",
        "btn_metrics": "Metrics",
        "btn_back": "« Back",
        "btn_done": "Done",
        "all_metrics": "all",
    },
    "ru": {
        "start": (
            "Привет! Я SalesPulse: цифры продаж из вашей базы каждое утро.\n"
            "Id этого чата: {chat_id}. {state}\n\nКоманды: /help"
        ),
        "state_subscribed": "Сводка приходит сюда ежедневно в {time} ({tz}).",
        "state_not_subscribed": "Этот чат не подписан; администратор может отправить здесь /subscribe.",
        "help": (
            "/report [дата|today|yesterday] [метрика] — сводка сейчас, например /report 2024-03-14 funnel\n"
            "   метрики: {metrics}\n"
            "/subscribe [ЧЧ:ММ] [часовой пояс] — ежедневная сводка в этот чат (админы; по умолчанию {time} {tz})\n"
            "/unsubscribe — отключить ежедневную сводку здесь (админы)\n"
            "/status — все подписки, следующий запуск и последняя доставка (админы)\n"
            "/help — эта справка"
        ),
        "refuse_data": (
            "Извините, этому чату отчёты недоступны. Попросите администратора подписать его; "
            "id этого чата: {chat_id}"
        ),
        "refuse_admin": (
            "Извините, это могут делать только администраторы SalesPulse. Ваш id: {user_id}, id чата: "
            "{chat_id}; администратор может добавить вас в ADMIN_USER_IDS."
        ),
        "bad_time": "'{value}' — не время суток; укажите ЧЧ:ММ, например /subscribe 08:45 Europe/Moscow",
        "bad_tz": "'{value}' — не часовой пояс; укажите имя IANA, например Europe/Moscow, Europe/Berlin или UTC",
        "bad_args": "Слишком много аргументов; используйте /subscribe [ЧЧ:ММ] [часовой пояс] [en|ru], например /subscribe 08:45 Europe/Moscow",
        "subscribed": "Подписка оформлена: сводка будет приходить сюда ежедневно в {time} ({tz}). Следующая: {next}.",
        "unsubscribed": "Подписка отключена: ежедневных сводок в этом чате больше не будет.",
        "not_subscribed": "Этот чат не был подписан.",
        "computing": "Считаю отчёт за {day}…",
        "report_bad": "{error}",
        "status_empty": "Подписок пока нет. Отправьте /subscribe в нужном чате.",
        "status_head": "Подписки:",
        "status_line": "{chat} {title}— {state}, {time} {tz}; следующая {next}; последняя {last}",
        "active": "активна",
        "inactive": "отключена ({reason})",
        "never": "не было",
        "error": "Извините, что-то пошло не так на моей стороне; подробности у администраторов в логах. Попробуйте позже.",
        "db_down": "Извините, база данных сейчас недоступна; попробуйте через несколько минут.",
        "admin_blocked": "SalesPulse: чат {chat_id} заблокировал бота или удалил его ({error}); подписка отключена.",
        "admin_failed": "SalesPulse: сводку за {day} не удалось доставить в чат {chat_id}: {error}",
        "admin_delayed": (
            "SalesPulse: сводка за {day} в чат {chats} задерживается: {error} (сбой с {since}). "
            "Повторяю попытки до {until}; следующая {next}. Больше сообщений об этом сбое не будет, "
            "если только доставку не придётся отменить; подробности в /status."
        ),
        "admin_gave_up": (
            "SalesPulse: сводку за {day} не удалось доставить в чат {chats}: {error}. "
            "Сбой с {since}; повторных попыток не будет."
        ),
        "admin_gave_up_db": (
            "SalesPulse: база данных недоступна при подготовке сводки за {day}: {error}. "
            "Сбой с {since}; не доставлено в чаты: {chats}. Повторных попыток не будет."
        ),
        "computing_stage": "Считаю отчёт за {day}… {stage}",
        "report_ready": "Отчёт за {day} готов:",
        "status_sent": "{day}: отправлена {at}",
        "status_working": "{day}: отправляется (по расписанию {due})",
        "status_delayed": "{day}: задерживается (по расписанию {due}); следующая попытка {next}, попыток: {attempts}, сбой с {since}; последняя ошибка: {reason}",
        "status_failed": "{day}: не доставлена {at}: {reason}",
        "status_skipped": "{day}: пропущена: {reason}",
        "admin_migrated": "SalesPulse: чат {old} стал супергруппой {new}; подписка перенесена.",
        # -- scopes, invites, buttons, /settings (issue 13) --
        "help_scopes": (
            "/invite ТЕГ — одноразовая ссылка, подписывающая чат на сводку этой области (админы)\n"
            "/settings — время, пояс, язык, область и метрики этого чата кнопками (админы)\n"
            "/subscribe … scope=ТЕГ — этот чат видит только эту область (админы; scope=* — вся компания)"
        ),
        "scope_line": "Область: {scope}.",
        "subscribed_scope": "Подписка оформлена: сводка по области {scope} будет приходить сюда ежедневно в {time} ({tz}). Следующая: {next}.",
        "invite_usage": "Используйте /invite ТЕГ, например /invite manager:ivanov или /invite team:north & region:msk",
        "invite_made": (
            "Приглашение к сводке по области {scope}, одноразовое, действует до {until}.\n"
            "Для личного чата: {private}\nДля группы: {group}\n"
            "Открывший получит сводку по области {scope} ежедневно в {time} ({tz})."
        ),
        "invite_forged": "Извините, эта ссылка-приглашение недействительна. Попросите у администратора новую.",
        "invite_expired": "Извините, срок действия этой ссылки истёк. Попросите у администратора новую.",
        "invite_used": "Извините, эта ссылка уже использована. Попросите у администратора новую.",
        "invite_chat_taken": "Этот чат уже получает свою сводку; изменить, что он видит, может только администратор.",
        "invite_welcome": (
            "Добро пожаловать! Этот чат теперь получает сводку по области {scope} ежедневно в {time} ({tz}). "
            "В любой момент её можно запросить командой /report."
        ),
        "menu_text": "Ещё за {day} ({scope}):",
        "menu_opened": "Сводка за {day} — ниже.",
        "btn_prev": "◀ {day}",
        "btn_next": "{day} ▶",
        "btn_leads": "Зависшие лиды (CSV)",
        "cb_working": "Готовлю…",
        "cb_stale": "Эта кнопка больше не действует; отправьте /report, чтобы получить новое меню.",
        "cb_refused": "Извините, этому чату отчёты недоступны.",
        "leads_unavailable": "Извините, список зависших лидов в этой версии недоступен.",
        "leads_caption": "Зависшие лиды за {day} ({scope})",
        "settings_head": (
            "Настройки этого чата:\nвремя {time} ({tz})\nязык {lang}\nобласть {scope}\nметрики {metrics}"
        ),
        "settings_saved": "Сохранено. Следующая сводка: {next}.",
        "settings_not_subscribed": "Этот чат не подписан; сначала отправьте здесь /subscribe.",
        "settings_admin_only": "Менять настройки могут только администраторы SalesPulse.",
        "settings_pick_time": "Время доставки (другое: /subscribe ЧЧ:ММ):",
        "settings_pick_tz": "Часовой пояс (другой: /subscribe ЧЧ:ММ Регион/Город):",
        "settings_pick_lang": "Язык:",
        "settings_pick_scope": "Область (другая: /subscribe scope=ТЕГ):",
        "settings_pick_metrics": "Метрики в сводке (нажмите, чтобы включить или выключить):",
        "settings_min_metric": "Хотя бы одна метрика должна остаться включённой.",
        "settings_closed": "Настройки закрыты.",
        "btn_time": "Время",
        "btn_tz": "Пояс",
        "btn_lang": "Язык",
        "btn_scope": "Область",
        "btn_metrics": "Метрики",
        "btn_back": "« Назад",
        "btn_done": "Готово",
        "all_metrics": "все",
    },
}

# A metric's button label is in its reports.registry spec (one place per metric).
for _i, _loc in enumerate(("en", "ru")):
    TEXTS[_loc].update({f"btn_{n}": spec.button[_i] for n, spec in REGISTRY.items()})

COMMANDS = {
    "en": [
        ("report", "the digest now: /report [date] [metric]"),
        ("subscribe", "daily digest here: /subscribe [HH:MM] [time zone]"),
        ("unsubscribe", "stop the daily digest here"),
        ("status", "subscriptions and deliveries (admins)"),
        ("alerts", "this chat's alert rules"),
        ("help", "what I can do"),
        ("start", "about this bot and this chat"),
    ],
    "ru": [
        ("report", "сводка сейчас: /report [дата] [метрика]"),
        ("subscribe", "ежедневная сводка сюда: /subscribe [ЧЧ:ММ] [пояс]"),
        ("unsubscribe", "отключить ежедневную сводку здесь"),
        ("status", "подписки и доставки (админы)"),
        ("alerts", "правила оповещений этого чата"),
        ("help", "что я умею"),
        ("start", "о боте и этом чате"),
    ],
}


def t(locale: str | None, key: str, **kwargs) -> str:
    table = TEXTS.get(locale or "en", TEXTS["en"])
    return table[key].format(**kwargs)


def _merge_alert_texts() -> None:
    # The alert rules keep their words in their own module (bot.alert_texts); one table here.
    from bot.alert_texts import ALERT_TEXTS

    for lang, texts in ALERT_TEXTS.items():
        TEXTS[lang].update(texts)


_merge_alert_texts()
