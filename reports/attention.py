"""The digest's "needs attention" block and the usual band in words (DESIGN section 8).

Each anomaly is one line: the number as today's, then its usual band, e.g. "▼ 3 new payers,
usually 14–25". A count's band is given as the whole numbers inside it (ceil(low)–floor(high)),
money in whole units, a rate in percent. A number inside its band reads as today's number with
"as usual" and the band instead of arrows against D-1 and D-7, which are noise on small numbers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from metrics.baselines import Baseline
from reports.i18n import channel_name, fmt_money, fmt_num, fmt_pct, shorten

MONEY = {"revenue", "new_payer_revenue"}
# target name (without key) -> (en, ru); {v}: today's value, {key}: the pipeline or channel
WHAT: dict[str, tuple[str, str]] = {
    "new_payers": ("{v} new payers", "новые платящие: {v}"),
    "new_payer_revenue": ("new payers' revenue {v}", "выручка новых платящих: {v}"),
    "revenue": ("revenue {v}", "выручка: {v}"),
    "payments": ("{v} payments", "платежей: {v}"),
    "breached": ("{key}: {v} past SLA today", "{key}: {v} сверх SLA за день"),
    "sessions": ("{v} sessions", "сессий: {v}"),
    "sessions.key": ("{key}: {v} sessions", "{key}: сессий {v}"),
    "sends": ("{key}: {v} messages sent", "{key}: отправлено {v}"),
    "block_share": ("{key}: {v} of messages blocked", "{key}: заблокировано {v} сообщений"),
    "conversions": ("{key}: conversion {v}", "{key}: конверсия {v}"),
}
ONE = {"new_payers": ("{v} new payer", None), "payments": ("{v} payment", None),
       "sessions": ("{v} session", None), "sessions.key": ("{key}: {v} session", None)}
WORDS: dict[str, tuple[str, str]] = {
    "attention": ("⚠️ Needs attention", "⚠️ Требует внимания"),
    "item": ("{arrow} {what}, usually {band}", "{arrow} {what}, обычно {band}"),
    "usual": ("as usual, {band}", "как обычно, {band}"),
    "unusual": ("⚠️ usually {band}", "⚠️ обычно {band}"),
    "more": ("• {n} more outside their usual band", "• ещё {n} вне обычного диапазона"),
}
MAX_ITEMS = 8  # the block opens the message; the rest of the digest must still fit
ARROW = {"low": "▼", "high": "▲"}


def _pick(pair: tuple[str, str | None], loc: str) -> str | None:
    return pair[1] if loc == "ru" else pair[0]


def fmt_value(b: Baseline, x: float | None, loc: str) -> str:
    if b.is_rate:
        return fmt_pct(x, loc)
    if b.field in MONEY:
        return fmt_money(None if x is None else round(x), loc)
    return fmt_num(x, loc)


def fmt_band(b: Baseline, loc: str) -> str:
    """"14–25": the band's ends as the day's numbers would read."""
    if b.low is None or b.high is None:
        return "–"
    if b.is_rate or b.field in MONEY:
        return f"{fmt_value(b, b.low, loc)}–{fmt_value(b, b.high, loc)}"
    return f"{fmt_num(math.ceil(b.low - 1e-9), loc)}–{fmt_num(math.floor(b.high + 1e-9), loc)}"


def describe(b: Baseline, loc: str) -> str:
    """One anomaly in words: '▼ 3 new payers, usually 14–25'."""
    name = b.target.split(".", 1)[0] if b.key is not None else b.target
    if name == "sessions" and b.key is not None:
        name = "sessions.key"
    key = shorten(channel_name(b.key, loc) if b.metric == "attribution" else b.key or "", 40)
    one = ONE.get(name)
    pattern = (_pick(one, loc) if one and b.value == 1 else None) or _pick(WHAT[name], loc)
    what = pattern.format(v=fmt_value(b, b.value, loc), key=key)
    return _pick(WORDS["item"], loc).format(arrow=ARROW.get(b.direction or "", "•"), what=what,
                                            band=fmt_band(b, loc))


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
    lines = [_pick(WORDS["attention"], loc)] + [describe(b, loc) for b in found[:MAX_ITEMS]]
    if len(found) > MAX_ITEMS:
        lines.append(_pick(WORDS["more"], loc).format(n=len(found) - MAX_ITEMS))
    return lines


def band_note(b: Baseline | None, loc: str) -> str | None:
    """'(as usual, 14–25)' / '(⚠️ usually 14–25)' for a number with a verdict; None without one
    (the caller keeps its arrows)."""
    if b is None or b.low is None or b.value is None:
        return None
    key = "unusual" if b.direction else "usual"
    return "(" + _pick(WORDS[key], loc).format(band=fmt_band(b, loc)) + ")"
