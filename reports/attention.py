"""The digest's "needs attention" block (docs/normal.md).

Each anomaly is one line: the number as today's, then its usual band, e.g. "▼ 3 new payers,
usually 14–25", then the slice that moved it most ("· Paid Search −6"); a sustained shift reads
as the days summed ("▼ 170 payments in 3 days, usually 240–300, since 29 Oct"). A count's band is
given as the whole numbers inside it (ceil(low)–floor(high)), money in whole units, a rate in
percent. A number inside its band reads as today's number with "as usual" and the band instead
of arrows against D-1 and D-7, which are noise on small numbers.

The block (docs/normal.md): at most MAX_LINES lines, ranked by significance (-log10 of the
verdict's tail probability) x the number's business weight (its metric's declaration,
metrics.checked: money and payers first, then conversions, volumes, per-channel volumes); a
slice under MIN_SHARE of its
total never leads the digest, it stays in the JSON. The rules a reader needs: docs/normal.md.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from charts.labels import shorten
from charts.names import channel_name, shown_name
from db.i18n import known, t
from db.i18n.formats import fmt_money, fmt_num, fmt_short_date
from metrics.baselines import Baseline, Driver
from metrics.checked import CHANNEL, MONEY
from reports.bands import fmt_band, fmt_value
from reports.registry import numbers

# A target's words are the catalogue's attention.what.<name> ({v}: today's value, {key}: the
# pipeline or channel), attention.one.<name> when the value is exactly 1 (where it differs).
MAX_LINES = 5  # the block opens the message and is read in seconds
MIN_SHARE = 0.05  # a slice smaller than this share of its total stays in the JSON
DRIVER_SHARE = 0.5  # a driver is named in the line when it made at least half of the change (else:
                    # everything moved together, and naming the biggest slice would blame it)
MAX_SIGNIFICANCE = 15.0  # -log10 of a tail probability, capped (a zero where 50 are usual is 'certain')
ARROW = {"low": "▼", "high": "▲"}


def _name(b: Baseline) -> str:
    name = b.target.split(".", 1)[0] if b.key is not None else b.target
    return "sessions.key" if name == "sessions" and b.key is not None else name


def _key(b: Baseline, loc: str) -> str:
    return shorten(channel_name(b.key, loc) if b.number.key == CHANNEL else shown_name(b.key or "", loc), 40)


def _what(b: Baseline, name: str) -> str:
    """The catalogue's words for the number (attention.what.<name>); a number nobody wrote words
    for (a metric from a folder of its own without them) reads "name: value"."""
    own = f"attention.what.{name}"
    return own if known(own) else "attention.what.any.key" if b.key is not None else "attention.what.any"


def describe(b: Baseline, loc: str) -> str:
    """One anomaly in words: '▼ 3 new payers, usually 14–25 · Paid Search −6'."""
    name, arrow = _name(b), ARROW.get(b.direction or "", "•")
    w = b.window
    if w is not None and b.since is not None and not _day_outside(b):
        shown = replace(b, low=w.low, high=w.high)
        what = t(_what(b, name), loc, v=fmt_value(b, w.value, loc), key=_key(b, loc), name=name)
        line = t("attention.shift", loc, arrow=arrow, what=what, days=w.days, band=fmt_band(shown, loc),
                 since=fmt_short_date(b.since, loc))
    else:
        one = f"attention.one.{name}"
        pattern = one if b.value == 1 and known(one) else _what(b, name)
        what = t(pattern, loc, v=fmt_value(b, b.value, loc), key=_key(b, loc), name=name)
        line = t("attention.item", loc, arrow=arrow, what=what, band=fmt_band(b, loc))
        if b.since is not None:
            line += t("attention.since", loc, since=fmt_short_date(b.since, loc))
    if b.drivers and b.drivers[0].share >= DRIVER_SHARE:
        line += " · " + _driver(b, b.drivers[0], loc)
    return line


def _day_outside(b: Baseline) -> bool:
    return b.value is not None and b.low is not None and b.high is not None and not b.low <= b.value <= b.high


def _driver(b: Baseline, d: Driver, loc: str) -> str:
    key = channel_name(d.key, loc) if d.dimension == "channel" else shorten(d.key, 30)
    change = d.value - d.expected
    sign = "+" if change > 0 else "−"
    size = fmt_money(abs(round(change)), loc) if b.number.kind == MONEY else fmt_num(abs(round(change)), loc)
    return f"{key} {sign}{size}"


def significance(b: Baseline) -> float:
    """-log10 of the verdict's tail probability; a Baseline without one (built by hand, or by
    section 8's detector) by how far outside its band, a half-width counting as a tail of 1e-3."""
    if b.p is not None:
        return min(-math.log10(max(b.p, 10 ** -MAX_SIGNIFICANCE)), MAX_SIGNIFICANCE)
    half = max((b.high or 0) - (b.expected or 0), (b.expected or 0) - (b.low or 0), 1e-9)
    return 3.0 * abs((b.value or 0) - (b.expected or 0)) / half


def ranked(baselines: Sequence[Baseline]) -> list[Baseline]:
    """The anomalies that may open the digest, most important first: significance x weight;
    slices under MIN_SHARE of their total left out (they stay in the JSON)."""
    found = [b for b in baselines if b.direction is not None and (b.share is None or b.share >= MIN_SHARE)]
    # ties (several numbers certain at once, e.g. a day without payments): the weightier first,
    # then in the order the metrics declare their numbers (metrics.checked)
    order = {(n.metric, n.field): i for i, n in enumerate(numbers())}
    return sorted(found, key=lambda b: (-significance(b) * b.weight, -b.weight,
                                        order.get((b.metric, b.field), len(order)), b.key is not None))


def shown(baselines: Sequence[Baseline]) -> tuple[list[Baseline], int]:
    """(the anomalies the block names, how many more it only counts)."""
    found = ranked(baselines)
    if len(found) <= MAX_LINES:
        return found, 0
    return found[:MAX_LINES - 1], len(found) - MAX_LINES + 1


def attention_lines(baselines: Sequence[Baseline], loc: str) -> list[str]:
    """The block that opens the digest: a heading and at most MAX_LINES lines, the last of them
    counting the rest when there are more (none: no block)."""
    items, more = shown(baselines)
    if not items:
        return []
    lines = [t("attention.attention", loc)] + [describe(b, loc) for b in items]
    return lines + [t("attention.more", loc, n=more)] if more else lines
