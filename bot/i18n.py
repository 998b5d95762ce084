"""Every sentence the bot says, in English and Russian. No numbers from the data ever go into
a refusal."""
from __future__ import annotations

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
        "admin_db": "SalesPulse: the database failed while preparing the digest for {day}: {error}. Retried {attempts} times; chats affected: {chats}.",
        "admin_migrated": "SalesPulse: chat {old} became supergroup {new}; its subscription moved with it.",
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
        "admin_db": "SalesPulse: база данных недоступна при подготовке сводки за {day}: {error}. Попыток: {attempts}; затронутые чаты: {chats}.",
        "admin_migrated": "SalesPulse: чат {old} стал супергруппой {new}; подписка перенесена.",
    },
}

COMMANDS = {
    "en": [
        ("report", "the digest now: /report [date] [metric]"),
        ("subscribe", "daily digest here: /subscribe [HH:MM] [time zone]"),
        ("unsubscribe", "stop the daily digest here"),
        ("status", "subscriptions and deliveries (admins)"),
        ("help", "what I can do"),
        ("start", "about this bot and this chat"),
    ],
    "ru": [
        ("report", "сводка сейчас: /report [дата] [метрика]"),
        ("subscribe", "ежедневная сводка сюда: /subscribe [ЧЧ:ММ] [пояс]"),
        ("unsubscribe", "отключить ежедневную сводку здесь"),
        ("status", "подписки и доставки (админы)"),
        ("help", "что я умею"),
        ("start", "о боте и этом чате"),
    ],
}


def t(locale: str | None, key: str, **kwargs) -> str:
    table = TEXTS.get(locale or "en", TEXTS["en"])
    return table[key].format(**kwargs)
