"""The digest's words: a summary readable on a phone in 30 seconds, and a CSV of every number.

Telegram parse mode: PLAIN TEXT (send with no parse_mode). Event and campaign names come from
the company's data and may contain '<', '&', '_' or '*'; plain text cannot break on them, and the
digest needs no bold/links. Lengths are counted in UTF-16 code units, as Telegram counts them
(an emoji is 2), so the limits hold on the wire, not just in Python's len().

- render_text: the whole summary, <= 4096 (a message).
- render_caption: the compact version, <= 1024 (an album caption): headline lines only.
Both cut at line boundaries only, ending with a '…' line when something was left out.
Order: the "needs attention" block first (the numbers outside their usual band,
docs/normal.md; reports.attention), then stuck pipelines, money, funnel, channels, campaigns, then one line per
skipped part saying why. Money numbers with a band read "as usual, 14–25" instead of arrows.
Each metric's own section and CSV rows live in reports/specs/, named by its reports.registry
spec; this module orders, fits and frames them.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from charts.labels import shorten
from db.i18n import norm_locale, t
from db.i18n.formats import fmt_date, fmt_num
from metrics.baselines import Baseline
from metrics.day import ReportDay
from reports.attention import attention_lines
from reports.i18n import skip_reason
from reports.registry import REGISTRY
from reports.specs.common import Line

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
LINE_MAX = 240  # no single line may eat the budget (500-character event names)


def metric_title(name: str, locale: str) -> str:
    """The metric's name in the text (its spec's title); a name outside the registry as it is."""
    spec = REGISTRY.get(name)
    return t(spec.title, locale) if spec is not None else name


def _order(outcomes: dict) -> tuple[str, ...]:
    """Digest order; a metric not in the registry comes after those that are."""
    return tuple(REGISTRY) + tuple(n for n in outcomes if n not in REGISTRY)


def tg_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2




def build_lines(outcomes: dict, day: ReportDay, locale: str, scope: str | None = None,
                scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> list[Line]:
    loc = norm_locale(locale)
    lines = [Line(t("digest.header", loc, day=fmt_date(day.day, loc), tz=day.timezone), True)]
    if scope is not None:
        key = "digest.scope.empty" if scope_users == 0 else "digest.scope"
        lines.append(Line(t(key, loc, scope=shorten(scope, 120), n=fmt_num(scope_users or 0, loc)), True))
    attention = attention_lines(baselines, loc)
    if attention:
        lines.append(Line(""))
        lines.extend(Line(x, True) for x in attention)
    skipped = []
    for name in _order(outcomes):
        o = outcomes.get(name)
        if o is None:
            continue
        if o.result is None or name not in REGISTRY:
            reason = skip_reason(o.skipped or "no result", loc)
            # off by the configuration (absent tables under "auto") is no warning
            key = "digest.off" if o.off else "digest.skipped"
            skipped.append(Line(t(key, loc, metric=metric_title(name, loc), reason=reason), True))
            continue
        lines.append(Line(""))
        # the metric's company-wide usual bands (new payers print them as "as usual, 14–25")
        bands = {b.field: b for b in baselines if b.metric == name and b.key is None}
        lines.extend(REGISTRY[name].text(o.result, loc, bands))
    if skipped:
        lines.append(Line(""))
        lines.extend(skipped)
    return [Line(shorten(x.text, LINE_MAX) if x.text else "", x.caption) for x in lines]


def fit(lines: list[str], limit: int, locale: str = "en") -> str:
    """Join lines, dropping whole lines from the end (then a digest.more line, '…') until it fits."""
    lines = list(lines)
    text = "\n".join(lines).strip("\n")
    if tg_len(text) <= limit:
        return text
    more = t("digest.more", locale)
    while lines:
        lines.pop()
        text = "\n".join(lines).rstrip("\n") + "\n" + more
        if tg_len(text) <= limit:
            return text
    return more


def render_text(outcomes: dict, day: ReportDay, locale: str = "en", scope: str | None = None,
                scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> str:
    return fit([x.text for x in build_lines(outcomes, day, locale, scope, scope_users, baselines)], MESSAGE_LIMIT, locale)


def render_caption(outcomes: dict, day: ReportDay, locale: str = "en", scope: str | None = None,
                   scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> str:
    lines = [x.text for x in build_lines(outcomes, day, locale, scope, scope_users, baselines)
             if x.caption or not x.text]
    # Blank separators only between kept sections, never doubled.
    compact = [x for i, x in enumerate(lines) if x or (i > 0 and lines[i - 1])]
    return fit(compact, CAPTION_LIMIT, locale)


def render_csv(outcomes: dict, day: ReportDay, scope: str | None = None) -> str:
    """metric, section, name, field, value: one row per number, dot decimals, for spreadsheets."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("metric", "section", "name", "field", "value"))
    writer.writerow(("digest", "report", "", "report_date", day.day.isoformat()))
    writer.writerow(("digest", "report", "", "timezone", day.timezone))
    if scope is not None:
        writer.writerow(("digest", "report", "", "scope", scope))
    for name in _order(outcomes):
        o = outcomes.get(name)
        if o is None:
            continue
        if o.result is None:
            writer.writerow((name, "skipped", "", "reason", o.skipped or ""))
            continue
        writer.writerows(csv_rows(name, o.result))
    return buf.getvalue()


def csv_rows(name: str, r: Any) -> list[tuple]:
    """The metric's CSV rows (its spec's csv_rows); none for a name outside the registry."""
    spec = REGISTRY.get(name)
    return spec.csv_rows(name, r) if spec is not None else []
