"""Locale-aware number/date formatting and label shortening, shared by charts and the digest text.

It lives in charts/ because dependencies point reports -> charts: the text (reports/i18n.py)
re-uses these functions, the charts never import reports.

Russian groups thousands with a no-break space (U+00A0) and uses a decimal comma ("12 345,6"):
the no-break space keeps a number whole when Telegram wraps a line on a narrow phone screen.
English: "12,345.6". Negative numbers use the ASCII hyphen-minus so they survive copy-paste.
"""
from __future__ import annotations

import math
import re
import textwrap
from datetime import date

NBSP = "\u00a0"
ELLIPSIS = "…"
LOCALES = ("en", "ru")

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def norm_locale(locale: str | None) -> str:
    """'ru', 'ru_RU', 'RU-ru' -> 'ru'; anything unknown -> 'en'."""
    head = (locale or "en").strip().lower()[:2]
    return head if head in LOCALES else "en"


def pick(pair: tuple[str, str], locale: str | None) -> str:
    """The (english, russian) pair's text for the locale: every word table's one lookup."""
    return pair[1] if norm_locale(locale) == "ru" else pair[0]


def fmt_num(x: float | None, locale: str, decimals: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0"
    if norm_locale(locale) == "ru":
        text = text.replace(",", NBSP).replace(".", ",")
    return text


def fmt_count(x: float | None, locale: str) -> str:
    """Whole counts as integers; fractional credit (attribution) with one decimal."""
    if x is None:
        return "–"
    if abs(x - round(x)) < 0.05:  # 5.999 reads as 6, not "6.0" next to a plain "6"
        return fmt_num(round(x), locale, 0)
    return fmt_num(x, locale, 1)


def fmt_money(x: float | None, locale: str) -> str:
    """Whole units from 1,000 up (nobody reads kopecks at 8 am), cents below."""
    if x is None:
        return "–"
    if abs(x) >= 1000 or float(x).is_integer():
        return fmt_num(x, locale, 0)
    return fmt_num(x, locale, 2)


def fmt_compact(x: float | None, locale: str) -> str:
    """Short form for narrow cells: 950, 12 345, 123k / 123 тыс, 1.2M / 1,2 млн, 12M, 3.4B."""
    if x is None:
        return "–"
    ru = norm_locale(locale) == "ru"
    ax = abs(x)
    for size, ru_unit, en_unit in ((1e12, "трлн", "T"), (1e9, "млрд", "B"), (1e6, "млн", "M")):
        if ax >= size:
            return fmt_num(x / size, locale, 1 if ax < 10 * size else 0) + (
                f"{NBSP}{ru_unit}" if ru else en_unit)
    if ax >= 1e5:
        return fmt_num(x / 1e3, locale, 0) + (f"{NBSP}тыс" if ru else "k")
    return fmt_money(x, locale) if not float(x).is_integer() else fmt_num(x, locale, 0)


def fmt_pct(fraction: float | None, locale: str, signed: bool = False) -> str:
    """0.4567 -> '46%'; under 10% one decimal ('4.2%'); signed -> '+46%' / '-4.2%'."""
    if fraction is None or not math.isfinite(fraction):
        return "–"
    pct = fraction * 100
    decimals = 0 if abs(pct) >= 10 or pct == 0 or float(round(pct, 1)).is_integer() else 1
    text = fmt_num(pct, locale, decimals)
    if signed and pct > 0:
        text = "+" + text
    return text + "%"


def fmt_hours(hours: float | None, locale: str) -> str:
    """Median times: minutes under an hour, hours under two days, else days."""
    ru = norm_locale(locale) == "ru"
    if hours is None:
        return "–"
    if hours < 1:
        return fmt_num(hours * 60, locale, 0) + (f"{NBSP}мин" if ru else f"{NBSP}min")
    if hours < 48:
        return fmt_num(hours, locale, 1 if hours < 10 else 0) + (f"{NBSP}ч" if ru else f"{NBSP}h")
    return fmt_num(hours / 24, locale, 1) + (f"{NBSP}дн" if ru else f"{NBSP}d")


def fmt_date(d: date, locale: str) -> str:
    if norm_locale(locale) == "ru":
        return f"{d:%d.%m.%Y}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def fmt_short_date(d: date, locale: str) -> str:
    if norm_locale(locale) == "ru":
        return f"{d:%d.%m}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]}"


def _collapse(text: object) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", str(text)).strip()


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters, cut with an ellipsis; whitespace collapsed
    (but not the no-break spaces inside formatted numbers)."""
    flat = _collapse(text)
    if len(flat) <= width:
        return flat
    return flat[: max(width - 1, 0)].rstrip() + ELLIPSIS


def wrap(text: str, width: int, max_lines: int = 2) -> str:
    """Word-wrap to `width` columns and at most `max_lines` lines, the last one ellipsised.

    Very long words (URLs, campaign slugs) are broken too, so nothing ever exceeds the width.
    """
    flat = _collapse(text)
    lines = textwrap.wrap(flat, width, break_long_words=True, break_on_hyphens=True) or [""]
    if len(lines) > max_lines:
        last = lines[max_lines - 1][: max(width - 1, 0)].rstrip()
        lines = lines[: max_lines - 1] + [last + ELLIPSIS]
    return "\n".join(lines)
