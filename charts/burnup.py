"""The plan's burn-up (docs/plan.md): the period's running total against the plan.

One panel per plan: the running total of the days done (solid, the report day marked and
labelled), the model's projection of the days left (dashed, to the period's end, labelled with
its share of the plan), the plan itself (a level line) and an even pace to it (a faint diagonal,
so a reader sees at a glance whether the month is ahead of or behind where it should be).
The period's days are the x axis, its first day and every week after it labelled.
"""
from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from charts.style import (
    ACCENT,
    GRID,
    HEADER_IN,
    HIGHLIGHT,
    INK,
    MUTED,
    SMALL_PT,
    WIDTH_IN,
    axes_in,
    clean_axes,
    header,
    new_figure,
    styled,
    to_png,
)
from db.i18n import t
from db.i18n.formats import (
    axis_unit,
    fmt_compact,
    fmt_num,
    fmt_pct,
    fmt_period,
    fmt_scaled,
    fmt_short_date,
)
from metrics.pace import Pace

PLAN_COLOR = "#374151"
EVEN_COLOR = "#9ca3af"
PANEL_IN = 3.2


def _formatter(top: float, locale: str):
    unit = axis_unit(top)
    if unit is None:
        return lambda v, _: fmt_num(v, locale, 0)
    return lambda v, _: "0" if v == 0 else fmt_scaled(v, unit, top, locale)


def render(pace: Pace, locale: str) -> bytes:
    """The burn-up of one plan on its report day."""
    name = t(f"plan.name.{pace.metric}", locale)
    period = fmt_period(pace.period.kind, pace.period.start, pace.period.end, locale)
    title = t("chart.plan.title", locale, name=name, period=period)
    sub = t("chart.plan.sub", locale, actual=fmt_compact(pace.actual, locale), target=fmt_compact(pace.target, locale),
            share=fmt_pct(pace.share, locale), done=pace.days_done, total=pace.days_total)
    if pace.projected_share is not None and not pace.complete:
        sub += " · " + t("chart.plan.pace", locale, projected=fmt_pct(pace.projected_share, locale))
    height = HEADER_IN + 0.4 + PANEL_IN + 0.55
    with styled():
        fig = new_figure(height)
        header(fig, title, sub)
        left, width = 0.8, WIDTH_IN - 0.8 - 0.75
        ax = axes_in(fig, left, 0.5, width, PANEL_IN)
        n = pace.days_total
        done = pace.cumulative()
        ahead = pace.projected_path()
        top = max([pace.target, *done, *ahead, 1.0]) * 1.12
        ax.plot([0, n], [0, pace.target], color=EVEN_COLOR, linewidth=1.0, linestyle=(0, (2, 2)), zorder=1)
        ax.axhline(pace.target, color=PLAN_COLOR, linewidth=1.4, linestyle="--", zorder=2)
        ax.text(0.3, pace.target, " " + t("chart.plan.target", locale, target=fmt_compact(pace.target, locale)),
                va="bottom", ha="left", fontsize=SMALL_PT, color=PLAN_COLOR)
        xs = list(range(1, len(done) + 1))
        ax.plot([0, *xs], [0.0, *done], color=ACCENT, linewidth=2.4, zorder=3)
        ax.plot([xs[-1]], [done[-1]], "o", color=HIGHLIGHT, markersize=7, zorder=5)
        near_plan = abs(done[-1] - pace.target) < top * 0.08  # the label goes under the point, off the plan line
        ax.text(xs[-1] - 0.15, done[-1] + (-0.03 if near_plan else 0.025) * top, fmt_compact(done[-1], locale),
                ha="right", va="top" if near_plan else "bottom", fontsize=10, fontweight="bold", color=INK, zorder=6,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85})
        if ahead:
            ax.plot([xs[-1], *range(xs[-1] + 1, n + 1)], [done[-1], *ahead], color=ACCENT, linewidth=1.8,
                    linestyle=(0, (4, 3)), zorder=3)
            ax.text(n + 0.3, ahead[-1], fmt_pct(pace.projected_share, locale), ha="left", va="center",
                    fontsize=10, fontweight="bold", color=ACCENT)
        ax.set_xlim(0, n + 0.2)
        ax.set_ylim(0, top)
        ticks = list(range(1, n + 1, 7)) if n > 7 else list(range(1, n + 1))
        ax.set_xticks(ticks)
        ax.set_xticklabels([fmt_short_date(pace.period.dates()[i - 1], locale) for i in ticks], fontsize=SMALL_PT)
        clean_axes(ax)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_formatter(FuncFormatter(_formatter(top, locale)))
        ax.tick_params(axis="y", labelsize=SMALL_PT, labelcolor=MUTED)
        ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
        handles = [Line2D([], [], color=ACCENT, linewidth=2.4, label=t("chart.plan.actual", locale)),
                   Line2D([], [], color=EVEN_COLOR, linewidth=1.0, linestyle=(0, (2, 2)),
                          label=t("chart.plan.even", locale))]
        if ahead:
            handles.insert(1, Line2D([], [], color=ACCENT, linewidth=1.8, linestyle=(0, (4, 3)),
                                     label=t("chart.plan.projected", locale)))
        fw, fh = fig.get_size_inches()
        fig.legend(handles=handles, loc="upper left", frameon=False, fontsize=SMALL_PT, ncol=len(handles),
                   bbox_to_anchor=(left / fw - 0.01, (height - HEADER_IN + 0.05) / fh), handlelength=1.8,
                   columnspacing=1.2)
        return to_png(fig)
