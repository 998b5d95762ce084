"""The digest's words: a summary readable on a phone in 30 seconds, and a CSV of every number.

Telegram parse mode: PLAIN TEXT (send with no parse_mode). Event and campaign names come from
the company's data and may contain '<', '&', '_' or '*'; plain text cannot break on them, and the
digest needs no bold/links. Lengths are counted in UTF-16 code units, as Telegram counts them
(an emoji is 2), so the limits hold on the wire, not just in Python's len().

- render_text: the whole summary, <= 4096 (a message).
- render_caption: the compact version, <= 1024 (an album caption): headline lines only.
Both cut at line boundaries only, ending with a '…' line when something was left out.
Order: the "needs attention" block first (the numbers outside their usual band, DESIGN section
8; reports.attention), then stuck pipelines, money, funnel, channels, campaigns, then one line per
skipped part saying why. Money numbers with a band read "as usual, 14–25" instead of arrows.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.attribution import AttributionResult
from metrics.baselines import Baseline
from metrics.campaigns import CampaignResult
from metrics.day import ReportDay
from metrics.funnel import FunnelResult
from metrics.hanging import HangingResult
from metrics.new_payers import NewPayersResult
from reports.attention import attention_lines, band_note
from reports.i18n import (
    channel_name,
    event_name,
    fmt_changes,
    fmt_count,
    fmt_date,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_short_date,
    metric_title,
    model_name,
    norm_locale,
    segment_name,
    shorten,
    skip_reason,
    t,
)
from reports.owners import owner_lines

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
LINE_MAX = 240  # no single line may eat the budget (500-character event names)
NAME_MAX = 48
ORDER = ("hanging", "new_payers", "funnel", "attribution", "campaigns")


@dataclass(frozen=True)
class Line:
    text: str
    caption: bool = False  # also in the compact caption


def tg_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _hanging(r: HangingResult, loc: str) -> list[Line]:
    pipes = sorted(r.pipelines, key=lambda p: (-p.hanging, -p.breached_today, p.name))
    stuck = [p for p in pipes if p.hanging > 0]
    if not stuck:
        return [Line(t("hanging.none", loc), True)]
    total = sum(p.hanging for p in pipes)
    today = sum(p.breached_today for p in pipes)
    out = [Line(t("hanging", loc, n=fmt_num(total, loc), today=fmt_num(today, loc)), True)]
    for i, p in enumerate(stuck[:12]):
        out.append(Line(t("hanging.pipe", loc, name=shorten(p.name, NAME_MAX), n=fmt_num(p.hanging, loc),
                          today=fmt_num(p.breached_today, loc), open=fmt_num(p.open_within_sla, loc)),
                        caption=i < 3))
    rest = stuck[12:]
    if rest:
        out.append(Line(t("hanging.more", loc, k=fmt_num(len(rest), loc),
                          n=fmt_num(sum(p.hanging for p in rest), loc))))
    clear = [p.name for p in pipes if p.hanging == 0]
    if clear:
        out.append(Line(t("hanging.clear", loc, names=shorten(", ".join(clear), 160))))
    out.extend(Line(x, True) for x in owner_lines(r, loc))
    return out


def _payers(r: NewPayersResult, loc: str, bands: dict[str, Baseline] | None = None) -> list[Line]:
    d1, d7 = r.previous_day, r.week_ago
    bands = bands or {}

    def chg(f: str) -> str:
        # the usual band when the number has one; arrows against D-1 and D-7 only without it
        note = band_note(bands.get(f), loc)
        return note or fmt_changes(getattr(r, f), getattr(d1, f), getattr(d7, f), loc)

    return [
        Line(t("payers", loc, n=fmt_num(r.new_payers, loc), chg=chg("new_payers")), True),
        Line(t("payers.new_rev", loc, v=fmt_money(r.new_payer_revenue, loc), chg=chg("new_payer_revenue"))),
        Line(t("payers.revenue", loc, v=fmt_money(r.revenue, loc), chg=chg("revenue")), True),
        Line(t("payers.payments", loc, n=fmt_num(r.payments, loc), u=fmt_num(r.paying_users, loc),
               chg=chg("payments"))),
    ]


def _final(steps) -> float | None:
    return steps[-1].conversion_from_start if steps else None


def _funnel(r: FunnelResult, loc: str) -> list[Line]:
    span = {"start": fmt_short_date(r.cohort_start, loc), "end": fmt_short_date(r.cohort_end, loc)}
    if not r.steps or r.steps[0].users == 0:
        return [Line(t("funnel.empty", loc, **span), True)]
    last = r.steps[-1]
    out = [Line(t("funnel", loc, n=fmt_num(r.steps[0].users, loc), last=fmt_num(last.users, loc),
                  last_name=shorten(event_name(last.event, loc), 32),
                  pct=fmt_pct(last.conversion_from_start, loc), **span), True)]
    later = [(i, s) for i, s in enumerate(r.steps) if i > 0 and s.conversion_from_previous is not None]
    if later:
        i, weak = min(later, key=lambda x: x[1].conversion_from_previous)
        out.append(Line(t("funnel.weak", loc, step=f"{i + 1}. " + shorten(event_name(weak.event, loc), NAME_MAX),
                          pct=fmt_pct(weak.conversion_from_previous, loc))))
    for kind in ("cluster", "channel"):
        segs = [s for s in r.segments if s.kind == kind and _final(s.steps) is not None]
        if len(segs) >= 2:
            best = max(segs, key=lambda s: (_final(s.steps), s.users))
            worst = min(segs, key=lambda s: (_final(s.steps), -s.users))
            if _final(best.steps) == _final(worst.steps):
                continue  # no spread, nothing to say
            out.append(Line(t("funnel.segments", loc, kind=t(f"funnel.{kind}", loc),
                              best=f"«{shorten(segment_name(best.name, loc), 36)}»", bp=fmt_pct(_final(best.steps), loc),
                              worst=f"«{shorten(segment_name(worst.name, loc), 36)}»", wp=fmt_pct(_final(worst.steps), loc))))
    return out


def _attribution(r: AttributionResult, loc: str) -> list[Line]:
    rows = [c for c in r.channels if c.sessions or c.conversions or c.revenue]
    if not rows:
        return [Line(t("attr.empty", loc), True)]
    revenue = sum(c.revenue for c in rows)
    out = [Line(t("attr", loc, model=model_name(r.model, loc), s=fmt_num(sum(c.sessions for c in rows), loc),
                  c=fmt_count(round(sum(c.conversions for c in rows), 1), loc),
                  r=fmt_money(revenue, loc)), True)]
    top = sorted((c for c in rows if c.revenue > 0), key=lambda c: -c.revenue)[:3]
    if top:
        items = " · ".join(f"{shorten(channel_name(c.channel, loc), 24)} {fmt_money(c.revenue, loc)} "
                           f"({fmt_pct(c.revenue / revenue, loc)})"
                           for c in top)
        out.append(Line(t("attr.top", loc, items=items), True))
    return out


def _campaigns(r: CampaignResult, loc: str) -> list[Line]:
    rows = r.channels or r.campaigns
    if not rows or sum(c.sent for c in rows) == 0:
        return [Line(t("camp.empty", loc), True)]
    total = {f: sum(getattr(c, f) for c in rows) for f in
             ("sent", "blocked", "failed", "opens", "human_clicks", "open_conversions",
              "click_conversions", "revenue", "cost")}
    roas = t("camp.roas", loc, v=fmt_num(total["revenue"] / total["cost"], loc, 1)) if total["cost"] > 0 else ""
    out = [
        Line(t("camp", loc, sent=fmt_num(total["sent"], loc), blocked=fmt_num(total["blocked"], loc),
               failed=fmt_num(total["failed"], loc)), True),
        Line(t("camp.result", loc, opens=fmt_num(total["opens"], loc), clicks=fmt_num(total["human_clicks"], loc),
               conv=fmt_num(total["open_conversions"] + total["click_conversions"], loc),
               rev=fmt_money(total["revenue"], loc), roas=roas), True),
    ]
    best = max((c for c in r.campaigns if c.revenue > 0), key=lambda c: c.revenue, default=None)
    if best is not None:
        out.append(Line(t("camp.best", loc, name=shorten(best.campaign or "–", 40),
                          channel=shorten(best.channel, 16), rev=fmt_money(best.revenue, loc))))
    # The campaign that returned least per unit of cost; campaigns without cost have no ROAS.
    worst = min((c for c in r.campaigns if c.roas is not None), key=lambda c: (c.roas, -c.cost), default=None)
    if worst is not None and worst is not best:
        out.append(Line(t("camp.worst", loc, name=shorten(worst.campaign or "–", 40),
                          channel=shorten(worst.channel, 16), roas=fmt_num(worst.roas, loc, 1))))
    return out


SECTIONS = {"hanging": _hanging, "new_payers": _payers, "funnel": _funnel,
            "attribution": _attribution, "campaigns": _campaigns}


def build_lines(outcomes: dict, day: ReportDay, locale: str, scope: str | None = None,
                scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> list[Line]:
    loc = norm_locale(locale)
    lines = [Line(t("header", loc, day=fmt_date(day.day, loc), tz=day.timezone), True)]
    if scope is not None:
        key = "scope.empty" if scope_users == 0 else "scope"
        lines.append(Line(t(key, loc, scope=shorten(scope, 120), n=fmt_num(scope_users or 0, loc)), True))
    attention = attention_lines(baselines, loc)
    if attention:
        lines.append(Line(""))
        lines.extend(Line(x, True) for x in attention)
    payer_bands = {b.field: b for b in baselines if b.metric == "new_payers" and b.key is None}
    skipped = []
    for name in ORDER + tuple(n for n in outcomes if n not in ORDER):
        o = outcomes.get(name)
        if o is None:
            continue
        if o.result is None or name not in SECTIONS:
            reason = skip_reason(o.skipped or "no result", loc)
            skipped.append(Line(t("skipped", loc, metric=metric_title(name, loc), reason=reason), True))
            continue
        lines.append(Line(""))
        if name == "new_payers":
            lines.extend(_payers(o.result, loc, payer_bands))
        else:
            lines.extend(SECTIONS[name](o.result, loc))
    if skipped:
        lines.append(Line(""))
        lines.extend(skipped)
    return [Line(shorten(x.text, LINE_MAX) if x.text else "", x.caption) for x in lines]


def fit(lines: list[str], limit: int) -> str:
    """Join lines, dropping whole lines from the end (then a '…' line) until it fits."""
    lines = list(lines)
    text = "\n".join(lines).strip("\n")
    if tg_len(text) <= limit:
        return text
    while lines:
        lines.pop()
        text = "\n".join(lines).rstrip("\n") + "\n…"
        if tg_len(text) <= limit:
            return text
    return "…"


def render_text(outcomes: dict, day: ReportDay, locale: str = "en", scope: str | None = None,
                scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> str:
    return fit([x.text for x in build_lines(outcomes, day, locale, scope, scope_users, baselines)], MESSAGE_LIMIT)


def render_caption(outcomes: dict, day: ReportDay, locale: str = "en", scope: str | None = None,
                   scope_users: int | None = None, baselines: Sequence[Baseline] = ()) -> str:
    lines = [x.text for x in build_lines(outcomes, day, locale, scope, scope_users, baselines)
             if x.caption or not x.text]
    # Blank separators only between kept sections, never doubled.
    compact = [x for i, x in enumerate(lines) if x or (i > 0 and lines[i - 1])]
    return fit(compact, CAPTION_LIMIT)


def render_csv(outcomes: dict, day: ReportDay, scope: str | None = None) -> str:
    """metric, section, name, field, value: one row per number, dot decimals, for spreadsheets."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("metric", "section", "name", "field", "value"))
    writer.writerow(("digest", "report", "", "report_date", day.day.isoformat()))
    writer.writerow(("digest", "report", "", "timezone", day.timezone))
    if scope is not None:
        writer.writerow(("digest", "report", "", "scope", scope))
    for name in ORDER + tuple(n for n in outcomes if n not in ORDER):
        o = outcomes.get(name)
        if o is None:
            continue
        if o.result is None:
            writer.writerow((name, "skipped", "", "reason", o.skipped or ""))
            continue
        writer.writerows(csv_rows(name, o.result))
    return buf.getvalue()


STEP_FIELDS = ("users", "conversion_from_start", "conversion_from_previous", "median_hours_from_start")
CHANNEL_FIELDS = ("sessions", "users", "conversions", "revenue")
DAY_FIELDS = ("new_payers", "new_payer_revenue", "payments", "paying_users", "revenue")
CAMPAIGN_FIELDS = ("sent", "blocked", "failed", "opens", "human_clicks", "open_conversions",
                   "click_conversions", "revenue", "cost", "roas")


def _value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 6)
    return v.isoformat() if hasattr(v, "isoformat") else v


def _rows(metric: str, section: str, name: str, obj: Any, fields: tuple[str, ...]) -> list[tuple]:
    return [(metric, section, name, f, _value(getattr(obj, f))) for f in fields]


def csv_rows(name: str, r: Any) -> list[tuple]:
    out: list[tuple] = []
    if isinstance(r, HangingResult):
        for p in r.pipelines:
            out += _rows(name, "pipeline", p.name, p, ("sla_hours", "hanging", "open_within_sla", "breached_today"))
            out += [(name, "age_days", p.name, b.label, b.users) for b in p.age_buckets]
            for o in p.by_owner:
                out += [(name, f"owner: {p.name}", o.owner or "", f, getattr(o, f)) for f in ("hanging", "breached_today")]
    elif isinstance(r, NewPayersResult):
        out += _rows(name, "D", r.report_date.isoformat(), r, DAY_FIELDS)
        out += _rows(name, "D-1", r.previous_day.date.isoformat(), r.previous_day, DAY_FIELDS)
        out += _rows(name, "D-7", r.week_ago.date.isoformat(), r.week_ago, DAY_FIELDS)
        for d in r.daily:
            out += _rows(name, "daily", d.date.isoformat(), d, DAY_FIELDS)
    elif isinstance(r, FunnelResult):
        out += _rows(name, "cohort", "", r, ("cohort_start", "cohort_end", "conversion_days"))
        for s in r.steps:
            out += _rows(name, "all", s.event, s, STEP_FIELDS)
        for seg in r.segments:
            section = f"{seg.kind}: {seg.name}"
            out.append((name, section, "", "users", seg.users))
            for s in seg.steps:
                out += _rows(name, section, s.event, s, STEP_FIELDS)
    elif isinstance(r, AttributionResult):
        models = dict(r.models)
        models.setdefault(r.model, r.channels)  # the default model's rows, once
        for model, rows in models.items():
            for c in rows:
                out += _rows(name, model, c.channel, c, CHANNEL_FIELDS)
    elif isinstance(r, CampaignResult):
        for section, rows in (("channel", r.channels), ("campaign", r.campaigns)):
            for c in rows:
                label = c.channel if c.campaign is None else f"{c.channel} / {c.campaign}"
                out += _rows(name, section, label, c, CAMPAIGN_FIELDS)
                out += [(name, section, label, f"blocked:{k}", v) for k, v in c.blocked_by_reason.items()]
    return out
