"""The digest's words in English and Russian, and locale number formatting.

Number formatting is shared with the charts (charts/labels.py; dependencies point reports ->
charts), so a number reads the same in the text and on the image: ru "12 345,6" (no-break space
groups thousands), en "12,345.6".
"""
from __future__ import annotations

import re

from charts.labels import (  # noqa: F401 - re-exported: the text's formatting vocabulary
    NBSP,
    fmt_compact,
    fmt_count,
    fmt_date,
    fmt_hours,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_short_date,
    norm_locale,
    pick,
    shorten,
)
from charts.words import channel_name, event_name, model_name, segment_name  # noqa: F401

STRINGS: dict[str, tuple[str, str]] = {  # key: (en, ru)
    "header": ("SalesPulse · {day} ({tz})", "SalesPulse · {day} ({tz})"),
    "hanging": ("⏳ Hanging: {n} past SLA, +{today} today",
                "⏳ Зависло: {n} сверх SLA, +{today} за день"),
    "hanging.none": ("✅ Nothing hanging", "✅ Зависших нет"),
    "hanging.pipe": ("• {name}: {n} (+{today} today, {open} in SLA)",
                     "• {name}: {n} (+{today} за день, {open} в SLA)"),
    "hanging.more": ("• {k} more pipelines: {n} hanging", "• ещё {k} процессов: {n} зависло"),
    "hanging.clear": ("• Nothing hanging: {names}", "• Без зависших: {names}"),
    "hanging.owners": ("👤 Most stuck: {items}", "👤 Больше всего зависших: {items}"),
    "hanging.no_owner": ("no owner {n}", "без ответственного {n}"),
    "scope": ("🎯 Scope: {scope} · {n} users", "🎯 Область: {scope} · {n} польз."),
    "scope.empty": ("🎯 Scope: {scope} — nobody has these tags, so there is nothing to count",
                    "🎯 Область: {scope} — ни у кого нет этих тегов, считать нечего"),
    "payers": ("💰 New payers: {n} {chg}", "💰 Новые платящие: {n} {chg}"),
    "payers.new_rev": ("Their revenue: {v} {chg}", "Их выручка: {v} {chg}"),
    "payers.revenue": ("Revenue: {v} {chg}", "Выручка: {v} {chg}"),
    "payers.payments": ("Payments: {n} from {u} users {chg}", "Платежей: {n} от {u} польз. {chg}"),
    "chg": ("({d1} vs D-1, {d7} vs D-7)", "({d1} к D-1, {d7} к D-7)"),
    "chg.new": ("▲ from 0", "▲ с 0"),
    "chg.same": ("= 0%", "= 0%"),
    "funnel": ("🔻 Funnel {start}–{end}: {n} → {last} {last_name} ({pct})",
               "🔻 Воронка {start}–{end}: {n} → {last} {last_name} ({pct})"),
    "funnel.empty": ("🔻 Funnel {start}–{end}: no new requests",
                     "🔻 Воронка {start}–{end}: новых заявок нет"),
    "funnel.weak": ("Weakest step: {step} — {pct} of previous",
                    "Слабый шаг: {step} — {pct} от предыдущего"),
    "funnel.segments": ("{kind}: best {best} {bp}, worst {worst} {wp}",
                        "{kind}: лучший {best} {bp}, худший {worst} {wp}"),
    "funnel.cluster": ("Clusters", "Кластеры"),
    "funnel.channel": ("Channels", "Каналы"),
    "attr": ("📣 Channels ({model}): {s} sessions, {c} conv., revenue {r}",
             "📣 Каналы ({model}): {s} сессий, {c} конв., выручка {r}"),
    "attr.top": ("Top: {items}", "Топ: {items}"),
    "attr.empty": ("📣 Channels: no sessions or payments", "📣 Каналы: нет сессий и платежей"),
    "camp": ("✉️ Campaigns: {sent} sent, {blocked} blocked, {failed} failed",
             "✉️ Рассылки: {sent} отпр., {blocked} заблок., {failed} ошибок"),
    "camp.result": ("Opened {opens} · clicks {clicks} · conv. {conv} · revenue {rev}{roas}",
                    "Открыто {opens} · клики {clicks} · конв. {conv} · выручка {rev}{roas}"),
    "camp.roas": (" · ROAS {v}", " · ROAS {v}"),
    "camp.best": ("Best: {name} ({channel}) {rev}", "Лучшая: {name} ({channel}) {rev}"),
    "camp.worst": ("Worst ROAS: {name} ({channel}) {roas}", "Худший ROAS: {name} ({channel}) {roas}"),
    "camp.empty": ("✉️ Campaigns: nothing sent", "✉️ Рассылки: отправок не было"),
    "skipped": ("⚠️ {metric} skipped: {reason}", "⚠️ {metric}: пропущено — {reason}"),
    "more": ("…", "…"),
}


def t(key: str, locale: str, **kw: object) -> str:
    text = pick(STRINGS[key], locale)
    return text.format(**kw) if kw else text


def fmt_change(current: float, previous: float, locale: str) -> str:
    """Arrow and signed percentage against a previous value: '▲ +25%', '▼ -9%', '= 0%'.

    From zero there is no percentage: '▲ from 0'; zero against zero is '= 0%'.
    """
    if previous == 0:
        return t("chg.same", locale) if current == 0 else t("chg.new", locale)
    change = (current - previous) / abs(previous)
    if round(change * 1000) == 0:
        return t("chg.same", locale)
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {fmt_pct(change, locale, signed=True)}"


def fmt_changes(current: float, d1: float, d7: float, locale: str) -> str:
    return t("chg", locale, d1=fmt_change(current, d1, locale), d7=fmt_change(current, d7, locale))


_NO_TABLE = re.compile(r"^no tables? (.+)$")


def skip_reason(reason: str, locale: str) -> str:
    """Metric outcomes say why they were skipped in English ('no table web_events'); translate
    the known shapes, pass anything else through (cut short: it may be an error message)."""
    m = _NO_TABLE.match(reason.strip())
    if m and norm_locale(locale) == "ru":
        tables = m.group(1)
        return ("нет таблиц " if "," in tables else "нет таблицы ") + tables
    return shorten(reason, 160)
