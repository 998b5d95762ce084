"""The digest's "needs attention" block and the usual band in words (DESIGN section 8).

Each anomaly is one line: the number as today's, then its usual band, e.g. "▼ 3 new payers,
usually 14–25". A count's band is given as the whole numbers inside it (ceil(low)–floor(high)),
money in whole units, a rate in percent. A number inside its band reads as today's number with
"as usual" and the band instead of arrows against D-1 and D-7, which are noise on small numbers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from charts.labels import shorten
from charts.names import channel_name, shown_name
from db.i18n import known, t
from db.i18n.formats import DASH, fmt_money, fmt_num, fmt_pct
from metrics.baselines import Baseline

MONEY = {"revenue", "new_payer_revenue"}
# A target's words are the catalogue's attention.what.<name> ({v}: today's value, {key}: the
# pipeline or channel), attention.one.<name> when the value is exactly 1 (where it differs).
MAX_ITEMS = 8  # the block opens the message; the rest of the digest must still fit
ARROW = {"low": "▼", "high": "▲"}


def fmt_value(b: Baseline, x: float | None, loc: str) -> str:
    if b.is_rate:
        return fmt_pct(x, loc)
    if b.field in MONEY:
        return fmt_money(None if x is None else round(x), loc)
    return fmt_num(x, loc)


def fmt_band(b: Baseline, loc: str) -> str:
    """"14–25": the band's ends as the day's numbers would read."""
    if b.low is None or b.high is None:
        return DASH
    if b.is_rate or b.field in MONEY:
        return f"{fmt_value(b, b.low, loc)}–{fmt_value(b, b.high, loc)}"
    return f"{fmt_num(math.ceil(b.low - 1e-9), loc)}–{fmt_num(math.floor(b.high + 1e-9), loc)}"


def describe(b: Baseline, loc: str) -> str:
    """One anomaly in words: '▼ 3 new payers, usually 14–25'."""
    name = b.target.split(".", 1)[0] if b.key is not None else b.target
    if name == "sessions" and b.key is not None:
        name = "sessions.key"
    key = shorten(channel_name(b.key, loc) if b.metric == "attribution" else shown_name(b.key or "", loc), 40)
    one = f"attention.one.{name}"
    pattern = one if b.value == 1 and known(one) else f"attention.what.{name}"
    what = t(pattern, loc, v=fmt_value(b, b.value, loc), key=key)
    return t("attention.item", loc, arrow=ARROW.get(b.direction or "", "•"), what=what, band=fmt_band(b, loc))


def _severity(b: Baseline) -> float:
    """How far outside its band, in band half-widths (a flat band counts as width 1)."""
    half = max((b.high or 0) - (b.expected or 0), (b.expected or 0) - (b.low or 0), 1e-9)
    return abs((b.value or 0) - (b.expected or 0)) / half


def attention_lines(baselines: Sequence[Baseline], loc: str) -> list[str]:
    """The block that opens the digest: a heading and one line per anomaly, farthest out first,
    at most MAX_ITEMS and a line counting the rest (none: no block)."""
    found = sorted((b for b in baselines if b.direction is not None), key=_severity, reverse=True)
    if not found:
        return []
    lines = [t("attention.attention", loc)] + [describe(b, loc) for b in found[:MAX_ITEMS]]
    if len(found) > MAX_ITEMS:
        lines.append(t("attention.more", loc, n=len(found) - MAX_ITEMS))
    return lines


def band_note(b: Baseline | None, loc: str) -> str | None:
    """'(as usual, 14–25)' / '(⚠️ usually 14–25)' for a number with a verdict; None without one
    (the caller keeps its arrows)."""
    if b is None or b.low is None or b.value is None:
        return None
    key = "unusual" if b.direction else "usual"
    return "(" + t(f"attention.{key}", loc, band=fmt_band(b, loc)) + ")"
