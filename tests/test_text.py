"""The digest text: the numbers the head of sales reads, in both locales, within Telegram's limits."""
from __future__ import annotations

import copy
import csv
import io
import pickle
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from db.i18n import Message
from metrics.day import ReportDay
from metrics.new_payers import NewPayersResult, PayersDay
from reports.i18n import fmt_change, skip_reason
from reports.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    fit,
    render_caption,
    render_csv,
    render_text,
    tg_len,
)
from tests.test_charts import EXTREME, NORMAL, hanging_extreme

D = date(2024, 3, 14)
DAY = ReportDay(D, "Europe/Moscow")
NB = "\u00a0"


@dataclass(frozen=True)
class Outcome:  # the shape of reports.digest.MetricOutcome
    name: str
    result: Any | None = None
    skipped: str | None = None
    off: bool = False


def normal() -> dict[str, Outcome]:
    return {name: Outcome(name, make()) for name, make in NORMAL.items()}


def payers_result() -> NewPayersResult:
    # D: 12 new payers, revenue 12,345.6; D-1: 10 (so +20%); D-7: 24 (so -50%).
    today = PayersDay(D, 12, 4000.0, 30, 25, 12345.6)
    d1 = PayersDay(D - timedelta(days=1), 10, 4000.0, 30, 25, 10000.0)
    d7 = PayersDay(D - timedelta(days=7), 24, 0.0, 0, 0, 0.0)
    return NewPayersResult(D, 12, 4000.0, 30, 25, 12345.6, d1, d7, [d7, d1, today])


def test_key_numbers_and_changes_in_english():
    outcomes = normal() | {"new_payers": Outcome("new_payers", payers_result())}
    text = render_text(outcomes, DAY, "en")
    assert text.startswith("SalesPulse · 14 Mar 2024 (Europe/Moscow)")
    # 12 vs 10 = +20%, vs 24 = -50%; revenue 12,345.6 shows whole units; 12,345.6 vs 10,000 = +23%;
    # vs 0 on D-7 there is no percentage.
    assert "New payers: 12 (▲ +20% vs D-1, ▼ -50% vs D-7)" in text
    assert "Revenue: 12,346 (▲ +23% vs D-1, ▲ from 0 vs D-7)" in text
    assert "Their revenue: 4,000 (= 0% vs D-1, ▲ from 0 vs D-7)" in text
    # Hanging: 37 + 120 + 0 + 9 = 166 past SLA; 5 + 22 + 0 + 2 = 29 breached today; most stuck first.
    assert "Hanging: 166 past SLA, +29 today" in text
    lines = text.splitlines()
    assert lines.index("• First line: 120 (+22 today, 14 in SLA)") < lines.index(
        "• Open requests: 37 (+5 today, 4 in SLA)")
    assert "• Nothing hanging: Second line" in text
    # Funnel: 2,234 -> int(2234 * 0.09) = 201 purchases = 9%.
    assert "2,234 → 201 purchase (9%)" in text
    assert "Campaigns: 165,500 sent" in text  # 12,300 + 3,200 + 150,000
    assert text.index("Hanging") < text.index("New payers") < text.index("Funnel") < text.index("Channels")


def test_russian_locale_formats_numbers():
    outcomes = normal() | {"new_payers": Outcome("new_payers", payers_result())}
    text = render_text(outcomes, DAY, "ru")
    assert text.startswith("SalesPulse · 14.03.2024")
    assert f"Выручка: 12{NB}346 (▲ +23% к D-1, ▲ с 0 к D-7)" in text
    assert "Новые платящие: 12 (▲ +20% к D-1, ▼ -50% к D-7)" in text
    assert "Зависло: 166 сверх SLA, +29 за день" in text
    assert f"2{NB}234 → 201 покупка (9%)" in text


def test_skipped_parts_say_why_in_both_locales():
    outcomes = normal() | {
        "attribution": Outcome("attribution", skipped="no table web_events"),
        "campaigns": Outcome("campaigns", skipped="no tables message_sends, message_interactions"),
    }
    en = render_text(outcomes, DAY, "en")
    assert "⚠️ Attribution skipped: no table web_events" in en
    assert "⚠️ Campaigns skipped: no tables message_sends, message_interactions" in en
    # the reasons as reports.requirements makes them: English text, translated from their keys
    outcomes |= {
        "attribution": Outcome("attribution", skipped=Message("digest.no_table", tables="web_events")),
        "campaigns": Outcome("campaigns", skipped=Message("digest.no_tables",
                                                          tables="message_sends, message_interactions")),
    }
    assert outcomes["attribution"].skipped == "no table web_events"
    ru = render_caption(outcomes, DAY, "ru")
    assert "⚠️ Атрибуция: пропущено — нет таблицы web_events" in ru
    assert "нет таблиц message_sends, message_interactions" in ru
    assert skip_reason("failed (ZeroDivisionError)", "ru") == "failed (ZeroDivisionError)"


def test_caption_is_a_compact_subset():
    outcomes = normal()
    caption, text = render_caption(outcomes, DAY, "en"), render_text(outcomes, DAY, "en")
    assert tg_len(caption) <= CAPTION_LIMIT
    assert len(caption) < len(text)
    assert set(caption.splitlines()) <= set(text.splitlines())
    assert "\n\n\n" not in caption and not caption.endswith("\n")


def _longest() -> dict[str, Outcome]:
    # 31 pipelines and every other result at its extreme: 500-character names everywhere.
    return {name: Outcome(name, make()) for name, make in EXTREME.items()} | {
        "hanging": Outcome("hanging", hanging_extreme())}


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_limits_hold_for_the_longest_configuration(locale):
    outcomes = _longest()
    text, caption = render_text(outcomes, DAY, locale), render_caption(outcomes, DAY, locale)
    assert tg_len(text) <= MESSAGE_LIMIT
    assert tg_len(caption) <= CAPTION_LIMIT
    for line in text.splitlines():
        assert tg_len(line) <= 250  # no 500-character line
    assert caption.endswith("…") or tg_len(caption) < CAPTION_LIMIT
    assert all(x.startswith("SalesPulse") for x in (text, caption))


def test_fit_cuts_at_line_boundaries_only():
    lines = [f"line {i} " + "x" * 90 for i in range(100)]
    out = fit(lines, 1024)
    assert tg_len(out) <= 1024 and out.endswith("\n…")
    assert all(x in lines for x in out.splitlines()[:-1])
    # Emoji are two UTF-16 units for Telegram: 600 of them do not fit 1024.
    assert tg_len("🔻" * 600) == 1200
    assert tg_len(fit(["🔻" * 300, "🔻" * 300], 1024)) <= 1024


def test_fit_ends_with_the_catalogues_more_line(monkeypatch):
    import reports.text

    real = reports.text.t
    monkeypatch.setattr(reports.text, "t", lambda key, locale, **kw: "[more]" if key == "digest.more" else real(key, locale, **kw))
    assert fit(["a" * 60, "b" * 60], 100, "ru") == "a" * 60 + "\n[more]"


def test_change_arrows():
    assert fmt_change(120, 100, "en") == "▲ +20%"
    assert fmt_change(95, 100, "ru") == "▼ -5%"
    assert fmt_change(0, 0, "en") == "= 0%"
    assert fmt_change(5, 0, "en") == "▲ from 0"
    assert fmt_change(104.2, 100, "ru") == "▲ +4,2%"


def test_csv_has_one_row_per_number():
    outcomes = normal() | {"new_payers": Outcome("new_payers", payers_result()),
                           "attribution": Outcome("attribution", skipped="no table web_events")}
    rows = list(csv.reader(io.StringIO(render_csv(outcomes, DAY))))
    assert rows[0] == ["metric", "section", "name", "field", "value"]
    assert all(len(r) == 5 for r in rows)
    assert ["new_payers", "D", "2024-03-14", "revenue", "12345.6"] in rows
    assert ["new_payers", "D-1", "2024-03-13", "new_payers", "10"] in rows
    assert ["hanging", "pipeline", "First line", "hanging", "120"] in rows
    assert ["hanging", "age_days", "First line", "8-30", "10"] in rows
    assert ["funnel", "all", "purchase", "users", "201"] in rows
    assert ["attribution", "skipped", "", "reason", "no table web_events"] in rows
    assert ["campaigns", "campaign", "sms / promo_code_march", "roas", "0.0"] in rows
    assert ["campaigns", "channel", "email", "roas", ""] in rows  # no cost -> no ROAS


def test_campaign_lines_name_the_best_by_revenue_and_the_worst_by_roas():
    # Normal data: spring_sale_2024 earns most (84,000); ROAS = revenue / cost is 45,000 / 115
    # = 391.3 for the sms reminder and 0 / 45 = 0.0 for promo_code_march; campaigns without
    # cost have no ROAS and cannot be "worst".
    text = render_text(normal(), DAY, "en")
    assert "Best: spring_sale_2024 (email) 84,000" in text
    assert "Worst ROAS: promo_code_march (sms) 0.0" in text
    assert "Худший ROAS: promo_code_march (sms) 0,0" in render_text(normal(), DAY, "ru")


def test_unattributed_payments_are_named_in_the_readers_language():
    from metrics.attribution import UNATTRIBUTED, AttributionResult, ChannelRow

    rows = [ChannelRow("Email", 10, 8, 1.0, 300.0), ChannelRow(UNATTRIBUTED, 0, 0, 2.0, 700.0)]
    outcomes = {"attribution": Outcome("attribution", AttributionResult(DAY.day, "last_non_direct", 3, 30, rows))}
    assert "Без источника 700 (70%) · Email 300 (30%)" in render_text(outcomes, DAY, "ru")
    assert "Unattributed 700 (70%) · Email 300 (30%)" in render_text(outcomes, DAY, "en")


@pytest.mark.parametrize(
    "parts, label, ru",
    [
        (("reached", "Успешный ВУ"), "reached Успешный ВУ", "дошли: Успешный ВУ"),
        (("never_reached", "purchase"), "never reached purchase", "не дошли: покупка"),
        (("often", "Дозвон 2Л"), "often: Дозвон 2Л", "часто: Дозвон 2Л"),
        (("without", "Дозвон 2Л"), "without Дозвон 2Л", "нет события: Дозвон 2Л"),
        (("all",), "all users", "все пользователи"),
        (("typical",), "typical", "типичные"),
        (("typical", None, 2), "typical #2", "типичные #2"),
        (("reached", "Успешный ВУ", 3), "reached Успешный ВУ #3", "дошли: Успешный ВУ #3"),
        (None, "Paid Search", "Paid Search"),
    ],
)
def test_cluster_labels_are_read_in_russian(parts, label, ru):
    # metrics.clusters makes a Label from its parts (its text is the English phrase, as in the
    # JSON); the reader's words come from the parts, never from parsing the phrase
    from charts.names import segment_name
    from metrics.clusters import Label

    name = Label(*parts) if parts else label
    assert name == label
    assert segment_name(name, "ru") == ru
    assert segment_name(name, "en") == label
    if parts:
        assert copy.deepcopy(name).code == parts[0] and pickle.loads(pickle.dumps(name)) == label
