"""The words of a week or a month in review (reports.review), plain text like the daily digest.

    SalesPulse · March 2026 (UTC)

    🎯 Plan
    Revenue 7.8M of 7.5M (104%) ✅

    📊 Against February 2026 · against March 2025
    Revenue 7.8M · +12% · +40%
    New payers 480 · +8% · –
    ...
    🚀 Biggest movers against February 2026
    Manager ivanov: revenue +1.2M (+35%)
    Pipeline First line: +120 past SLA (+15%)

A change is against a period the number reaches (metrics.review), "–" where it does not and
"new" where it was 0; a period that no number reaches gets no column at all.
"""
from __future__ import annotations

import csv
import io

from charts.labels import shorten
from charts.names import channel_name, shown_name
from db.i18n import t
from db.i18n.formats import DASH, fmt_compact, fmt_pct, fmt_period
from metrics.movers import Mover
from metrics.periods import Period
from metrics.review import TOTALS
from reports.plan import plan_name
from reports.text import MESSAGE_LIMIT, fit

NAMES = {"breached": "review.name.breached"}


def _period(p: Period, loc: str) -> str:
    return fmt_period(p.kind, p.start, p.end, loc)


def _name(total: str, loc: str) -> str:
    return t(NAMES.get(total, f"plan.name.{total}"), loc)


def change(now: float | None, before: float | None, loc: str) -> str:
    """'+12%', '-4.2%', 'new' (from 0), '–' (nothing to compare)."""
    if now is None or before is None:
        return DASH
    if before == 0:
        return t("review.new", loc) if now else fmt_pct(0.0, loc)
    return fmt_pct((now - before) / before, loc, signed=True)


def _reached(totals: dict) -> bool:
    return any(v is not None for v in totals.values())


def number_lines(r, loc: str) -> list[str]:
    prev, year = _reached(r.previous.totals), _reached(r.year_ago.totals)
    words = {"period": _period(r.period, loc), "prev": _period(r.previous.period, loc),
             "year": _period(r.year_ago.period, loc)}
    head = t("review.against" if prev and year else "review.against_prev" if prev else
             "review.against_year" if year else "review.alone", loc, **words)
    out = [head]
    for n in TOTALS:
        v = r.now.totals.get(n)
        if v is None:
            continue
        cols = ([change(v, r.previous.totals.get(n), loc)] if prev else []) + (
            [change(v, r.year_ago.totals.get(n), loc)] if year else [])
        out.append(" · ".join([f"{_name(n, loc)} {fmt_compact(v, loc)}", *cols]))
    return out if len(out) > 1 else []


def _key(m: Mover, loc: str) -> str:
    if m.dimension == "channel":
        return channel_name(m.key, loc)
    if m.dimension == "pipeline":
        return shown_name(m.key, loc)
    if m.dimension == "owner":
        return m.key.partition(":")[2] or m.key
    return shorten(m.key, 48)


def mover_line(m: Mover, loc: str) -> str:
    sign = "+" if m.change > 0 else "-"
    rel = f" ({fmt_pct(m.relative, loc, signed=True)})" if m.relative is not None else f" ({t('review.new', loc)})"
    return t(f"review.mover.{m.dimension}", loc, key=_key(m, loc), change=sign + fmt_compact(abs(m.change), loc),
             rel=rel)


def plan_line(p, loc: str) -> str:
    line = t("review.plan", loc, name=plan_name(p, loc), actual=fmt_compact(p.actual, loc),
             target=fmt_compact(p.target, loc), share=fmt_pct(p.share, loc))
    return line + " ✅" if p.share >= 1 else line


def review_lines(r, loc: str) -> list[str]:
    kind = "review.header_week" if r.period.kind == "week" else "review.header_month"
    lines = [t(kind, loc, period=_period(r.period, loc), tz=r.timezone)]
    if r.scope is not None:
        key = "digest.scope.empty" if r.scope_users == 0 else "digest.scope"
        lines.append(t(key, loc, scope=shorten(r.scope, 120), n=fmt_compact(r.scope_users or 0, loc)))
    blocks = [[t("plan.head", loc)] + [plan_line(p, loc) for p in r.plan] if r.plan else [],
              number_lines(r, loc),
              [t("review.movers", loc, prev=_period(r.previous.period, loc))] + [mover_line(m, loc) for m in r.movers]
              if r.movers else []]
    for b in blocks:
        if b:
            lines += [""] + b
    if len(lines) == 1 + (r.scope is not None):
        lines += ["", t("review.empty", loc)]
    return lines


def review_text(r, loc: str) -> str:
    return fit(review_lines(r, loc), MESSAGE_LIMIT, loc)


def review_csv(r) -> str:
    """metric, section, name, field, value: as the daily digest's CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("metric", "section", "name", "field", "value"))
    w.writerows([("review", "period", r.period.kind, "start", r.period.start.isoformat()),
                 ("review", "period", r.period.kind, "end", r.period.end.isoformat())])
    for n in TOTALS:
        for field, got in (("value", r.now), ("previous", r.previous), ("year_ago", r.year_ago)):
            if got.totals.get(n) is not None:
                w.writerow(("review", "numbers", n, field, got.totals[n]))
    for m in r.movers:
        w.writerows([("review", f"movers.{m.dimension}", m.key, "value", m.value),
                     ("review", f"movers.{m.dimension}", m.key, "previous", m.previous)])
    for p in r.plan:
        w.writerows([("review", "plan", p.metric, "target", p.target), ("review", "plan", p.metric, "actual", p.actual)])
    return buf.getvalue()
