"""One message catalogue (charts/i18n/locales/<lang>.toml), CLDR formats, and the languages it
proves are files: Chinese and Vietnamese beside Russian and English."""
from __future__ import annotations

import logging
import os
import string
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from charts import fonts
from charts.names import display_names, shown_name
from db.i18n import FALLBACK, LOCALES, lookup, messages, norm_locale, t
from db.i18n.formats import fmt_compact, fmt_date, fmt_hours, fmt_num, fmt_pct, fmt_short_date
from metrics.config import ConfigError, load_config
from reports.registry import REGISTRY
from reports.registry import charts as chart_specs
from reports.text import render_text
from tests.test_charts import NORMAL
from tests.test_cli import salespulse
from tests.test_text import DAY, normal

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "db/i18n/locales"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_languages_are_the_files_present():
    from db.settings import LOCALES as SETTINGS_LOCALES

    files = sorted(p.stem for p in FOLDER.glob("*.toml"))
    assert set(LOCALES) == set(files) >= {"en", "ru", "zh", "vi"}
    assert LOCALES[0] == FALLBACK == "en" and SETTINGS_LOCALES == LOCALES


# The keys a language may still lack: they fall back to English (db.i18n.lookup), so a new message
# can ship in English first. Listed here, so that a language falls behind on purpose, not by
# forgetting. Every shipped language is complete today.
LAGGING: dict[str, set[str]] = {"ru": set(), "vi": set(), "zh": set()}


def _shipped(lang: str) -> dict[str, str]:
    """A language's own file, without the words a metric of one's own may have added."""
    import tomllib

    from db.i18n import _flatten

    return _flatten(tomllib.loads((FOLDER / f"{lang}.toml").read_text(encoding="utf-8")))


@pytest.mark.parametrize("lang", [x for x in LOCALES if x != FALLBACK])
def test_every_language_has_every_key_but_its_lagging_ones_with_the_same_placeholders(lang):
    en, other = _shipped(FALLBACK), _shipped(lang)
    assert set(en) - set(other) == LAGGING.get(lang, set()), f"{lang}.toml lacks keys LAGGING does not list"
    assert sorted(set(other) - set(en)) == [], f"{lang}.toml has keys English does not"
    wrong = {k: (_fields(en[k]), _fields(v)) for k, v in other.items() if not _fields(v) <= _fields(en[k])}
    assert wrong == {}
    # a translation may drop a detail (the Python error of a bad date) but not what the reader needs
    lost = {k: _fields(en[k]) - _fields(v) for k, v in other.items() if _fields(en[k]) - _fields(v)}
    assert set(lost) <= {"error.not_in_calendar"}, lost


def test_a_missing_key_falls_back_to_english(monkeypatch):
    import db.i18n as cat

    partial = {k: v for k, v in messages("vi").items() if k != "bot.never"}
    real = cat.messages
    monkeypatch.setattr(cat, "messages", lambda lang: partial if lang == "vi" else real(lang))
    assert t("bot.never", "vi") == "never"
    assert lookup("bot.never", "vi", fallback=False) is None
    assert t("bot.active", "vi") == "đang bật"
    with pytest.raises(KeyError):
        t("no.such.key", "vi")


def test_locale_names_are_normalised():
    assert [norm_locale(x) for x in ("zh-Hans", "vi_VN", "RU-ru", "de", None, "")] == ["zh", "vi", "ru", "en", "en", "en"]


def test_cldr_formats_per_language():
    assert [fmt_num(12345.6, x, 1) for x in LOCALES] == ["12,345.6", "12\u00a0345,6", "12.345,6", "12,345.6"]
    assert [fmt_pct(0.0456, x) for x in ("en", "ru", "vi", "zh")] == ["4.6%", "4,6%", "4,6%", "4.6%"]
    d = date(2024, 9, 4)
    assert [fmt_date(d, x) for x in ("en", "ru", "vi", "zh")] == ["4 Sep 2024", "04.09.2024", "04/09/2024", "2024年9月4日"]
    assert [fmt_short_date(d, x) for x in ("en", "ru", "zh")] == ["4 Sep", "04.09", "9月4日"]
    assert fmt_compact(1_234_567, "ru") == "1,2\u00a0млн" and fmt_compact(123_456, "en") == "123k"
    assert fmt_compact(1_234_567, "zh") == "1.2百万" and fmt_hours(0.5, "vi") == "30\u00a0phút"
    assert fmt_num(2.675, "en", 2) == "2.67" and fmt_num(-0.0001, "ru", 1) == "0,0"  # like the f-strings


@pytest.mark.parametrize("lang, words, english", [
    ("zh", ["积压", "新付费用户", "漏斗", "渠道", "推送活动", "2024年3月14日"], ["New payers", "Funnel", "Hanging"]),
    ("vi", ["Tồn đọng", "Người trả tiền mới", "Phễu", "Kênh", "Chiến dịch", "14/03/2024"],
     ["New payers", "Funnel", "Hanging"]),
])
def test_the_digest_reads_in_chinese_and_vietnamese(lang, words, english):
    text = render_text(normal(), DAY, lang)
    assert all(w in text for w in words), text
    assert not [w for w in english if w in text], text


def test_display_names_of_pipelines_and_steps_per_language():
    cfg = load_config()
    assert cfg.display["ru"]["First line"] == "Первая линия"
    assert cfg.display["zh"]["Создание заявки"] == "创建申请"
    with display_names(cfg.display):
        assert shown_name("First line", "ru") == "Первая линия"
        assert shown_name("First line", "en") == "First line"  # English keeps the configured name
        assert shown_name("purchase", "vi") == "mua hàng"
        ru = render_text(normal(), DAY, "ru")
    assert shown_name("First line", "ru") == "First line"  # outside a rendering: as configured
    pipes = [p.name for p in NORMAL["hanging"]().pipelines]
    shown = [cfg.display["ru"].get(p, p) for p in pipes]
    assert any(s != p for s, p in zip(shown, pipes, strict=True)) and any(s in ru for s in shown if s not in pipes), ru


def test_display_names_are_checked(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[display.ru]\n"Firts line" = "Первая линия"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"display\.ru\.Firts line"):
        load_config(bad)
    bad.write_text('[display.de]\n"First line" = "Erste Linie"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"display\.de.*en, ru, vi, zh"):
        load_config(bad)
    own = tmp_path / "own.toml"  # pipelines of its own: the defaults' names for the old ones go
    own.write_text('[[hanging.pipelines]]\nname = "Calls"\nstart = "a"\nends = ["b"]\n'
                   '[display.ru]\n"Calls" = "Звонки"\n', encoding="utf-8")
    cfg = load_config(own)
    assert cfg.display["ru"] == {"Calls": "Звонки"} and "First line" not in cfg.display["zh"]


def test_the_font_finder():
    assert fonts.font_for("Tiếng Việt · Русский · English") == fonts.BASE
    assert fonts.missing_glyphs("中文", [fonts.BASE]) == {"中", "文"}
    assert fonts.families()[0] == fonts.BASE


def _require_cjk_font():
    if fonts.font_for("中文") is None:
        if os.environ.get("SALESPULSE_REQUIRE_CJK_FONT"):
            pytest.fail("no CJK font installed (make test installs fonts-wqy-microhei)")
        pytest.skip("no CJK font installed (fonts-wqy-microhei or fonts-noto-cjk)")


def test_a_missing_font_is_logged_once(monkeypatch, caplog):
    from charts.style import new_figure, styled, to_png

    monkeypatch.setattr(fonts, "families", lambda: (fonts.BASE,))
    monkeypatch.setattr(fonts, "_told", False)
    with caplog.at_level(logging.WARNING, "salespulse.charts"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib's own per-glyph warning
        for _ in range(2):
            with styled():
                fig = new_figure(1)
                fig.text(0.1, 0.5, "漏斗")
                assert to_png(fig).startswith(b"\x89PNG")
    said = [r.getMessage() for r in caplog.records if "no installed font" in r.getMessage()]
    assert len(said) == 1 and "漏" in said[0]


def test_the_glyph_check_stops_once_it_has_warned(monkeypatch):
    from charts.style import new_figure, styled

    def walked(*_args, **_kw):
        raise AssertionError("check_figure walked the texts after its warning")

    monkeypatch.setattr(fonts, "_told", True)
    monkeypatch.setattr(fonts, "missing_glyphs", walked)
    with styled():
        fig = new_figure(1)
        fig.text(0.1, 0.5, "漏斗")
        assert fonts.check_figure(fig) == set()


@pytest.mark.parametrize("lang", ["zh", "vi"])
def test_every_chart_draws_the_script_with_no_missing_glyph(lang):
    if lang == "zh":
        _require_cjk_font()
    cfg = load_config()
    from charts.render import renderer

    with warnings.catch_warnings(), display_names(cfg.display):
        warnings.filterwarnings("error", message=r"Glyph .* missing from font")
        for name, spec in chart_specs().items():
            png = renderer(spec)(NORMAL[name](), date(2024, 3, 14), lang)
            assert png.startswith(b"\x89PNG"), name
    assert set(chart_specs()) == set(REGISTRY)


@pytest.mark.parametrize("lang, word", [("zh", "新付费用户"), ("vi", "Người trả tiền mới")])
def test_cli_text_report_in_chinese_and_vietnamese(source, database_url, tmp_path, lang, word):
    source.payments((1, datetime(2024, 3, 14, 9, tzinfo=UTC), 40))
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": f"{source.schema}_state",
           "LOCALE": lang}
    proc = salespulse("report", "--date", "2024-03-14", "--metric", "new_payers", "--format", "text",
                      env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert word in proc.stdout and "New payers" not in proc.stdout, proc.stdout


def test_a_message_is_english_text_with_its_key():
    import json
    import pickle

    from db.i18n import Message

    m = Message("digest.no_tables", tables="a, b")
    assert m == "no table a, b" and json.dumps({"skipped": m}) == '{"skipped": "no table a, b"}'
    assert m.text("ru") == "нет таблиц a, b" and m.text("zh") == "缺少表 a, b"
    assert pickle.loads(pickle.dumps(m)).text("vi") == "thiếu các bảng a, b"


def test_settings_offer_every_language_by_its_own_name():
    from types import SimpleNamespace

    from bot.commands.settings import _change, _picker

    text, markup = _picker("lang", SimpleNamespace(locale="zh"), "vi", [])
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert text == "Ngôn ngữ:"
    assert [(b.text, b.callback_data) for b in buttons[:-1]] == [
        ("English", "s:lang=en"), ("Русский", "s:lang=ru"), ("Tiếng Việt", "s:lang=vi"), ("• 中文", "s:lang=zh")]
    assert _change("lang", "vi", None) == {"locale": "vi"} and _change("lang", "de", None) is None


def test_chinese_wraps_by_its_width():
    from charts.labels import cells, wrap

    zh = "截至 2024年3月14日 结束时超出 SLA 的用户，按自起始事件以来的天数分组" * 2
    lines = wrap(zh, 40, 3).split("\n")
    assert len(lines) == 3 and all(cells(x) <= 40 for x in lines) and lines[-1].endswith("…")
    assert wrap("users past the SLA by age since the start event", 40) == "users past the SLA by age since the\nstart event"
    # Latin then Chinese: the width is counted per line, not averaged over the whole text.
    mixed = "aaaa bbbb cccc dddd eeee ffff gggg hhhh " + "中" * 30
    lines = wrap(mixed, 20, 4).split("\n")
    assert len(lines) == 4 and all(cells(x) <= 20 for x in lines) and lines[-1].endswith("…")
    assert lines[0] == "aaaa bbbb cccc dddd"
