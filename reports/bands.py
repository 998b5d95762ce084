"""The usual band in words: "14–25" for a count (the whole numbers inside it), money in whole
units, a rate in percent; "(as usual, 14–25)" beside a number that has one. The digest's sections
and its "needs attention" block (reports.attention) say bands the same way."""
from __future__ import annotations

import math

from db.i18n import t
from db.i18n.formats import DASH, fmt_money, fmt_num, fmt_pct
from metrics.baselines import Baseline
from metrics.checked import MONEY


def fmt_value(b: Baseline, x: float | None, loc: str) -> str:
    if b.is_rate:
        return fmt_pct(x, loc)
    if b.number.kind == MONEY:
        return fmt_money(None if x is None else round(x), loc)
    return fmt_num(x, loc)


def fmt_band(b: Baseline, loc: str) -> str:
    """"14–25": the band's ends as the day's numbers would read."""
    if b.low is None or b.high is None:
        return DASH
    if b.is_rate or b.number.kind == MONEY:
        return f"{fmt_value(b, b.low, loc)}–{fmt_value(b, b.high, loc)}"
    return f"{fmt_num(math.ceil(b.low - 1e-9), loc)}–{fmt_num(math.floor(b.high + 1e-9), loc)}"


def band_note(b: Baseline | None, loc: str) -> str | None:
    """'(as usual, 14–25)' / '(⚠️ usually 14–25)' for a number with a verdict; None without one
    (the caller keeps its arrows)."""
    if b is None or b.low is None or b.value is None:
        return None
    key = "unusual" if b.direction else "usual"
    return "(" + t(f"attention.{key}", loc, band=fmt_band(b, loc)) + ")"
