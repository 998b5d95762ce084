"""The words on the charts, in English and Russian. (The digest text has its own, reports/i18n.py.)"""
from __future__ import annotations

from charts.labels import norm_locale, pick
from metrics.channels import UNATTRIBUTED

WORDS: dict[str, tuple[str, str]] = {  # key: (en, ru)
    "no_data": ("No data for {day}", "Нет данных за {day}"),
    "hanging.title": ("Hanging processes", "Зависшие процессы"),
    "hanging.sub": (
        "users past the SLA by age since the start event, at the end of {day}",
        "пользователи сверх SLA по возрасту с начала процесса, на конец {day}",
    ),
    "hanging.none": ("Nothing is hanging at the end of {day}", "На конец {day} ничего не зависло"),
    "hanging.age": ("Age, days:", "Возраст, дн.:"),
    "hanging.other": ("other", "прочие"),
    "hanging.today": ("new\ntoday", "новых\nза день"),
    "hanging.in_sla": ("open\nin SLA", "открыто\nв SLA"),
    "more_rows": ("… and {n} more", "… и ещё {n}"),
    "funnel.title": ("Conversion funnel", "Воронка конверсии"),
    "funnel.sub": (
        "cohort {start} – {end}: {users} users, conversion window {days} days",
        "когорта {start} – {end}: {users} польз., окно конверсии {days} дн.",
    ),
    "funnel.prev": ("{pct} of previous step", "{pct} от пред. шага"),
    "funnel.median": ("median {t} from step 1", "медиана {t} от шага 1"),
    "funnel.segments": (
        "Conversion from step 1 by segment",
        "Конверсия от шага 1 по сегментам",
    ),
    "funnel.cluster": ("Behaviour clusters", "Поведенческие кластеры"),
    "funnel.channel": ("Acquisition channels", "Каналы привлечения"),
    "purchase": ("purchase", "покупка"),
    "unattributed": ("Unattributed", "Без источника"),
    "payers.title": ("New paying users", "Новые платящие"),
    "payers.sub": ("{n} days to {day}; {day} highlighted", "{n} дн. по {day}; {day} выделен"),
    "payers.count": ("new payers", "новые платящие"),
    "payers.revenue": ("revenue", "выручка"),
    "payers.all_payments": ("all payments", "все платежи"),
    "payers.new_revenue": ("from new payers", "от новых платящих"),
    "payers.avg": ("7-day average", "среднее за 7 дн."),
    "payers.band": ("usual for the weekday", "обычно в этот день недели"),
    "payers.none": ("No payments in the {n} days to {day}", "Нет платежей за {n} дн. по {day}"),
    "attr.title": ("Channels", "Каналы"),
    "attr.sub": (
        "payments of {day}; bars: {model}; dots: other models",
        "платежи {day}; столбцы: {model}; точки: другие модели",
    ),
    "attr.revenue": ("Revenue", "Выручка"),
    "attr.conversions": ("Conversions", "Конверсии"),
    "attr.sessions": ("{s} sessions · {u} users", "{s} сессий · {u} польз."),
    "camp.title": ("Campaigns", "Рассылки"),
    "camp.sub": (
        "messages sent on {day}; conversions and revenue up to the end of the day",
        "отправки {day}; конверсии и выручка до конца дня",
    ),
    "camp.name": ("Channel / campaign", "Канал / кампания"),
    "camp.sent": ("Sent", "Отпр."),
    "camp.blocked": ("Blocked", "Блок."),
    "camp.failed": ("Failed", "Ошибки"),
    "camp.opens": ("Opened", "Откр."),
    "camp.clicks": ("Clicks", "Клики"),
    "camp.conv": ("Conv.", "Конв."),
    "camp.revenue": ("Revenue", "Выручка"),
    "camp.cost": ("Cost", "Расход"),
    "camp.roas": ("ROAS", "ROAS"),
    "camp.reasons": ("Blocked by reason: {reasons}", "Блокировки по причинам: {reasons}"),
    "camp.none": ("No messages sent on {day}", "Нет отправок за {day}"),
    "camp.no_campaign": ("(no campaign)", "(без кампании)"),
}

MODELS: dict[str, tuple[str, str]] = {
    "last_non_direct": ("last non-direct click", "последний непрямой клик"),
    "first_touch": ("first touch", "первое касание"),
    "last_touch": ("last touch", "последнее касание"),
    "linear": ("linear", "линейная"),
    "position_based": ("position-based", "по позиции"),
    "time_decay": ("time decay", "затухание во времени"),
    "markov": ("data-driven (Markov)", "data-driven (Марков)"),
}


def w(key: str, locale: str, **kw: object) -> str:
    text = pick(WORDS[key], locale)
    return text.format(**kw) if kw else text


def model_name(model: str, locale: str) -> str:
    pair = MODELS.get(model)
    if pair is None:
        return model.replace("_", " ")
    return pick(pair, locale)


def channel_name(channel: str, locale: str) -> str:
    """Metric-made channel labels get words of the locale; real channel names stay as they are."""
    if channel == UNATTRIBUTED:
        return w("unattributed", locale)
    return channel


def event_name(event: str, locale: str) -> str:
    """The configured token `purchase` means a payment; show it as a word of the locale."""
    return w("purchase", locale) if event == "purchase" else event


# Behavioural cluster labels are made by metrics.clusters in English ("reached X", "often: X");
# the reader gets them in the locale's words, with the event name left as configured.
_SEGMENT_PREFIXES_RU = (
    # a colon, not a preposition: event names are nouns in the nominative ("до покупка" is wrong)
    ("never reached ", "не дошли: "),
    ("rarely reached ", "редко доходят: "),
    ("reached ", "дошли: "),
    ("often: ", "часто: "),
    ("rarely: ", "редко: "),
    ("without ", "нет события: "),
)


def segment_name(name: str, locale: str) -> str:
    if name == UNATTRIBUTED:
        return channel_name(name, locale)
    if norm_locale(locale) != "ru":
        return name
    if name == "all users":
        return "все пользователи"
    if name == "typical" or name.startswith("typical #"):  # metrics.clusters: no distinctive event
        return "типичные" + name[len("typical"):]
    for en, ru in _SEGMENT_PREFIXES_RU:
        if name.startswith(en):
            return ru + event_name(name[len(en):], locale)
    return name
