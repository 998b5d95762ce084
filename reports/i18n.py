"""The digest's own formatting: changes against earlier days and why a part was skipped.

Words are the catalogue's (db.i18n, `digest.*` keys); numbers are db.i18n.formats, shared with
the charts so a number reads the same in the text and on the image.
"""
from __future__ import annotations

from charts.labels import shorten
from db.i18n import Message, t
from db.i18n.formats import fmt_pct


def fmt_change(current: float, previous: float, locale: str) -> str:
    """Arrow and signed percentage against a previous value: '▲ +25%', '▼ -9%', '= 0%'.

    From zero there is no percentage: '▲ from 0'; zero against zero is '= 0%'.
    """
    if previous == 0:
        return t("digest.chg.same", locale) if current == 0 else t("digest.chg.new", locale)
    change = (current - previous) / abs(previous)
    if round(change * 1000) == 0:
        return t("digest.chg.same", locale)
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {fmt_pct(change, locale, signed=True)}"


def fmt_changes(current: float, d1: float, d7: float, locale: str) -> str:
    return t("digest.chg", locale, d1=fmt_change(current, d1, locale), d7=fmt_change(current, d7, locale))


def skip_reason(reason: str, locale: str) -> str:
    """Why a part was skipped: a catalogue Message (missing tables) in the locale's words; anything
    else (an error's class name) as it is, cut short."""
    if isinstance(reason, Message):
        return reason.text(locale)
    return shorten(reason, 160)
