"""The funnel: one horizontal bar per step under its (numbered) name, counts and % on the right,
then the segments (behaviour clusters, acquisition channels) side by side as a heat table whose
rows are the same numbered steps. Step names sit above their bars at full width, so long Russian
event names get the whole line instead of a cramped axis label."""
from __future__ import annotations

from datetime import date

from matplotlib.figure import Figure

from charts.empty import render_empty
from charts.labels import shorten, wrap
from charts.names import event_name, segment_name
from charts.style import (
    ACCENT,
    BASE_PT,
    HEADER_IN,
    INK,
    MUTED,
    SMALL_PT,
    TRACK,
    WIDTH_IN,
    axes_in,
    chars_fit,
    clean_axes,
    header,
    new_figure,
    styled,
    to_png,
)
from db.i18n import t
from db.i18n.formats import fmt_date, fmt_hours, fmt_num, fmt_pct
from metrics.funnel import FunnelResult, FunnelSegment

MAX_STEPS = 12
MAX_SEGMENTS = 8
STEP_IN = 0.78  # name line + bar + small detail line
LEFT_IN = 0.3
CELL_IN = 0.34
SEG_HEAD_IN = 1.2
BLUES = ("#eff6ff", "#dbeafe", "#bfdbfe", "#93c5fd", "#60a5fa", "#3b82f6", "#2563eb", "#1d4ed8")


def _cell_color(fraction: float | None) -> str:
    if fraction is None:
        return "#f3f4f6"
    return BLUES[min(int(max(fraction, 0) * len(BLUES)), len(BLUES) - 1)]


def _draw_steps(fig: Figure, result: FunnelResult, locale: str, bottom_in: float) -> None:
    steps = result.steps[:MAX_STEPS]
    width = WIDTH_IN - 2 * LEFT_IN
    ax = axes_in(fig, LEFT_IN, bottom_in, width, len(steps) * STEP_IN)
    clean_axes(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(steps), 0)
    ax.set_xticks([])
    ax.set_yticks([])
    first = max(steps[0].users, 1)
    for i, s in enumerate(steps):
        right = f"{fmt_num(s.users, locale)}  ·  {fmt_pct(s.conversion_from_start, locale)}"
        budget = chars_fit(width, BASE_PT) - len(right) - 4
        name = shorten(f"{i + 1}. {event_name(s.event, locale)}", budget)
        ax.text(0, i + 0.2, name, va="center", ha="left", fontsize=BASE_PT, color=INK)
        ax.text(1, i + 0.2, right, va="center", ha="right", fontsize=BASE_PT, fontweight="bold")
        ax.barh(i + 0.5, 1, height=0.3, color=TRACK, zorder=0)
        ax.barh(i + 0.5, s.users / first, height=0.3, color=ACCENT, zorder=1)
        details = []
        if i > 0:
            details.append(t("chart.funnel.prev", locale, pct=fmt_pct(s.conversion_from_previous, locale)))
        if i > 0 and s.median_hours_from_start is not None:
            details.append(t("chart.funnel.median", locale, t=fmt_hours(s.median_hours_from_start, locale)))
        if details:
            ax.text(0, i + 0.82, "  ·  ".join(details), va="center", ha="left",
                    fontsize=SMALL_PT, color=MUTED)


def _segments(result: FunnelResult) -> list[FunnelSegment]:
    clusters = [s for s in result.segments if s.kind == "cluster"]
    others = sorted((s for s in result.segments if s.kind != "cluster"), key=lambda s: -s.users)
    return (clusters + others)[:MAX_SEGMENTS]


def _draw_segments(fig: Figure, result: FunnelResult, locale: str, segs: list[FunnelSegment],
                   bottom_in: float) -> None:
    n_steps = min(len(result.steps), MAX_STEPS)
    label_in = 0.35
    # Columns at most 1.1 in wide: one or two segments should not stretch across the phone.
    width = min(WIDTH_IN - 2 * LEFT_IN - label_in, 1.1 * len(segs))
    ax = axes_in(fig, LEFT_IN + label_in, bottom_in, width, n_steps * CELL_IN)
    clean_axes(ax)
    ax.set_xlim(0, len(segs))
    ax.set_ylim(n_steps, 0)
    ax.set_xticks([])
    ax.set_yticks([i + 0.5 for i in range(n_steps)])
    ax.set_yticklabels([str(i + 1) for i in range(n_steps)], fontsize=SMALL_PT, color=MUTED)
    col_chars = chars_fit(width / len(segs) - 0.05, SMALL_PT)
    for c, seg in enumerate(segs):
        head = wrap(segment_name(seg.name, locale), col_chars, 3) + f"\nn={fmt_num(seg.users, locale)}"
        ax.text(c + 0.5, -0.15, head, ha="center", va="bottom", fontsize=SMALL_PT - 0.5,
                color=INK, linespacing=1.05)
        by_step = seg.steps[:n_steps]
        for r in range(n_steps):
            frac = by_step[r].conversion_from_start if r < len(by_step) else None
            ax.add_patch(_cell(c, r, _cell_color(frac)))
            ax.text(c + 0.5, r + 0.5, fmt_pct(frac, locale), ha="center", va="center",
                    fontsize=SMALL_PT, color="white" if (frac or 0) >= 0.6 else INK)
        if c > 0 and seg.kind != segs[c - 1].kind:
            ax.axvline(c, color="white", linewidth=4)
    fw, fh = fig.get_size_inches()
    top_in = bottom_in + n_steps * CELL_IN + SEG_HEAD_IN
    fig.text(LEFT_IN / fw, top_in / fh, shorten(t("chart.funnel.segments", locale), 60),
             fontsize=SMALL_PT + 1, color=INK, va="top", fontweight="bold")
    # A group label over each run of same-kind columns (clusters, then channels).
    start = 0
    for c in range(1, len(segs) + 1):
        if c == len(segs) or segs[c].kind != segs[start].kind:
            span = c - start
            ax.text((start + c) / 2, -1.85, shorten(t(f"chart.funnel.{segs[start].kind}", locale)
                    if segs[start].kind in ("cluster", "channel") else segs[start].kind,
                    col_chars * span), ha="center", va="bottom", fontsize=SMALL_PT, color=MUTED)
            ax.plot([start + 0.08, c - 0.08], [-1.78, -1.78], color=MUTED, linewidth=0.8,
                    clip_on=False)
            start = c


def _cell(c: int, r: int, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((c + 0.04, r + 0.06), 0.92, 0.88, color=color, linewidth=0)


def render(result: FunnelResult, day: date, locale: str) -> bytes:
    title = f"{t('chart.funnel.title', locale)} · {fmt_date(day, locale)}"
    if not result.steps or result.steps[0].users <= 0:
        return render_empty(t("chart.funnel.title", locale), day, locale)
    segs = _segments(result)
    steps_in = min(len(result.steps), MAX_STEPS) * STEP_IN
    segs_in = (min(len(result.steps), MAX_STEPS) * CELL_IN + SEG_HEAD_IN + 0.35) if segs else 0
    height = HEADER_IN + 0.15 + steps_in + segs_in + 0.2
    sub = t("chart.funnel.sub", locale, start=fmt_date(result.cohort_start, locale),
            end=fmt_date(result.cohort_end, locale), users=fmt_num(result.steps[0].users, locale),
            days=result.conversion_days)
    with styled():
        fig = new_figure(height)
        header(fig, title, sub)
        _draw_steps(fig, result, locale, 0.2 + segs_in)
        if segs:
            _draw_segments(fig, result, locale, segs, 0.2)
        return to_png(fig)
