"""Numbers, percentages, money, durations and dates in the reader's language, from CLDR (Babel).

CLDR gives the symbols (ru "12 345,6" with a no-break space that keeps a number whole when
Telegram wraps a line, en "12,345.6", vi "12.345,6") and the month names; the patterns are ours,
so a number reads the same in every language's digest and on its charts:
- percentages have no space before '%' (CLDR's ru is "46 %"), and one decimal under 10%;
- negatives use the ASCII hyphen-minus, so they survive copy-paste;
- units of time and the compact thousands/millions are words of the catalogue (`unit.*`,
  `compact.*`), dates follow the language file's `format.date` (CLDR's medium date without it).
"""
from __future__ import annotations

import math
from datetime import date
from functools import cache

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton
from babel.numbers import format_decimal

from db.i18n import lookup, norm_locale, t

DASH = "–"  # no value


@cache
def _cldr(locale: str | None) -> Locale:  # parsed once per language, not once per number
    return Locale.parse(norm_locale(locale))


def fmt_num(x: float | None, locale: str | None, decimals: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return DASH
    # Python's round() on the binary value first: Babel rounds the decimal text half-even, which
    # would turn 2.675 into 2.68; the digests have always said 2.67 (tests/test_i18n.py holds it).
    value = round(float(x), decimals)
    if value == 0:
        value = 0.0  # no "-0"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(value, format=pattern, locale=_cldr(locale))
    return text.replace("\u2212", "-")


def fmt_count(x: float | None, locale: str | None) -> str:
    """Whole counts as integers; fractional credit (attribution) with one decimal."""
    if x is None:
        return DASH
    if abs(x - round(x)) < 0.05:  # 5.999 reads as 6, not "6.0" next to a plain "6"
        return fmt_num(round(x), locale, 0)
    return fmt_num(x, locale, 1)


def fmt_money(x: float | None, locale: str | None) -> str:
    """Whole units from 1,000 up (nobody reads kopecks at 8 am), cents below."""
    if x is None:
        return DASH
    if abs(x) >= 1000 or float(x).is_integer():
        return fmt_num(x, locale, 0)
    return fmt_num(x, locale, 2)


COMPACT = ((1e12, "compact.trillion"), (1e9, "compact.billion"), (1e6, "compact.million"))


def fmt_compact(x: float | None, locale: str | None) -> str:
    """Short form for narrow cells: 950, 12 345, 123k / 123 тыс, 1.2M / 1,2 млн, 12M, 3.4B."""
    if x is None:
        return DASH
    unit = axis_unit(abs(x))
    if unit is not None:
        return fmt_scaled(x, unit, abs(x), locale)
    return fmt_money(x, locale) if not float(x).is_integer() else fmt_num(x, locale, 0)


def fmt_scaled(x: float, unit: tuple[float, str], top: float, locale: str | None) -> str:
    """`x` in `unit` (axis_unit's): one decimal while `top` is under ten units ('1.2M'), else none."""
    size, key = unit
    return t(key, locale, n=fmt_num(x / size, locale, 1 if top < 10 * size else 0))


def axis_unit(top: float) -> tuple[float, str] | None:
    """One unit for a whole chart axis (or one number), chosen by its top: (size, compact.* key);
    None for plain digits (thousands only from 100k on)."""
    for size, key in COMPACT + ((1e3, "compact.thousand"),):
        if top >= (size if size >= 1e6 else 1e5):
            return size, key
    return None


def fmt_pct(fraction: float | None, locale: str | None, signed: bool = False) -> str:
    """0.4567 -> '46%'; under 10% one decimal ('4.2%'); signed -> '+46%' / '-4.2%'."""
    if fraction is None or not math.isfinite(fraction):
        return DASH
    pct = fraction * 100
    decimals = 0 if abs(pct) >= 10 or pct == 0 or float(round(pct, 1)).is_integer() else 1
    text = fmt_num(pct, locale, decimals)
    if signed and pct > 0:
        text = "+" + text
    return text + "%"


def fmt_hours(hours: float | None, locale: str | None) -> str:
    """Median times: minutes under an hour, hours under two days, else days."""
    if hours is None:
        return DASH
    if hours < 1:
        return t("unit.minutes", locale, n=fmt_num(hours * 60, locale, 0))
    if hours < 48:
        return t("unit.hours", locale, n=fmt_num(hours, locale, 1 if hours < 10 else 0))
    return t("unit.days", locale, n=fmt_num(hours / 24, locale, 1))


def fmt_date(d: date, locale: str | None) -> str:
    """'14 Mar 2024', '14.03.2024', '2024年3月14日': the language file's format.date, else CLDR's."""
    pattern = lookup("format.date", locale, fallback=False)
    return format_date(d, pattern or "medium", locale=_cldr(locale))


def fmt_short_date(d: date, locale: str | None) -> str:
    """The date without its year, for axes and date ranges: '14 Mar', '14.03', '3月14日'."""
    pattern = lookup("format.short_date", locale, fallback=False)
    if pattern:
        return format_date(d, pattern, locale=_cldr(locale))
    return format_skeleton("MMMd", d, locale=_cldr(locale))


def fmt_month(d: date, locale: str | None) -> str:
    """The month of `d` with its year, as CLDR says it alone: 'April 2026', 'апрель 2026 г.'."""
    return format_skeleton("yMMMM", d, locale=_cldr(locale))


def fmt_days(first: date, last: date, locale: str | None) -> str:
    """A span of days, CLDR's interval: 'Apr 6 – 12, 2026', '6—12 апр. 2026 г.', '2026年4月6日 – 12日'."""
    return format_interval(first, last, "yMMMd", locale=_cldr(locale))


def fmt_period(kind: str, first: date, last: date, locale: str | None) -> str:
    """A plan's or a review's period: a month by its name, a week by its days."""
    return fmt_month(first, locale) if kind == "month" else fmt_days(first, last, locale)
