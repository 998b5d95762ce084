"""New payers: the last 30 days as daily bars (new paying users on top, revenue below) with a
7-day average line, the report day D in the highlight colour and labelled. With D's usual bands
(metrics.baselines: the same weekday of 8 weeks) the band is shaded behind D's bar, so a bar
sticking out of its shade is the anomaly the text names."""
from __future__ import annotations

from datetime import date

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from charts.empty import render_empty
from charts.style import (
    ACCENT,
    ACCENT_LIGHT,
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
    fmt_date,
    fmt_num,
    fmt_scaled,
    fmt_short_date,
)
from metrics.new_payers import NewPayersResult, PayersDay

AVG_COLOR = "#111827"
BAND_COLOR = "#9ca3af"
PANEL_IN = 2.3


def trailing_average(values: list[float], window: int = 7) -> list[float | None]:
    """Mean of the last `window` days; None until a full window exists (no misleading ramp-up)."""
    return [
        sum(values[i - window + 1: i + 1]) / window if i >= window - 1 else None
        for i in range(len(values))
    ]


def _axis_formatter(top: float, locale: str):
    """One unit for the whole axis (not '80 000' next to '160 тыс'), chosen by the axis top."""
    unit = axis_unit(top)
    if unit is None:
        return lambda v, _: fmt_num(v, locale, 0)
    return lambda v, _: "0" if v == 0 else fmt_scaled(v, unit, top, locale)


def _panel(ax: Axes, days: list[PayersDay], values: list[float], hi: int, locale: str,
           label: str, inner: list[float] | None = None, band: tuple[float, float] | None = None) -> None:
    x = list(range(len(days)))
    if band is not None and hi >= 0:  # D's usual band, a shaded column wider than its bar
        ax.add_patch(Rectangle((hi - 0.7, band[0]), 1.4, band[1] - band[0], color=BAND_COLOR,
                               alpha=0.35, linewidth=0, zorder=1))
    colors = [HIGHLIGHT if i == hi else (ACCENT_LIGHT if inner is not None else ACCENT) for i in x]
    ax.bar(x, values, width=0.78, color=colors, zorder=2)
    if inner is not None:  # the new payers' share of revenue, darker inside the total
        ax.bar(x, inner, width=0.78, color=[("#b45309" if i == hi else ACCENT) for i in x], zorder=3)
    avg = trailing_average(values)
    pts = [(i, a) for i, a in enumerate(avg) if a is not None]
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=AVG_COLOR, linewidth=1.8, zorder=4)
    top = max(max(values), band[1] if band is not None and hi >= 0 else 0, 1)
    ax.set_ylim(0, top * 1.22)
    # Always 30 slots wide: a short series keeps normal bar widths, D stays at the right.
    ax.set_xlim(min(-0.7, len(days) - 30.7), len(days) - 0.3)
    if hi >= 0:
        ax.text(hi, values[hi] + top * 0.03, fmt_compact(values[hi], locale), ha="center",
                va="bottom", fontsize=10, fontweight="bold", color=INK, zorder=5)
    clean_axes(ax)
    ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_axis_formatter(top * 1.22, locale)))
    ax.tick_params(axis="y", labelsize=SMALL_PT, labelcolor=MUTED)
    ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
    ax.set_title(label, loc="left", fontsize=10.5, color=INK, pad=4)


def render(result: NewPayersResult, day: date, locale: str,
           bands: dict[str, tuple[float, float]] | None = None) -> bytes:
    """`bands`: field ("new_payers", "revenue") -> D's usual (low, high), shaded when given."""
    bands = bands or {}
    days = list(result.daily)
    title = f"{t('chart.payers.title', locale)} · {fmt_date(day, locale)}"
    if not days or all(d.payments == 0 and d.new_payers == 0 for d in days):
        return render_empty(t("chart.payers.title", locale), day, locale,
                            t("chart.payers.none", locale, n=len(days) or 30, day=fmt_date(day, locale)))
    hi = next((i for i, d in enumerate(days) if d.date == day), -1)
    height = HEADER_IN + 0.45 + 2 * PANEL_IN + 0.45 + 0.55
    with styled():
        fig = new_figure(height)
        header(fig, title, t("chart.payers.sub", locale, n=len(days), day=fmt_short_date(day, locale)))
        left, width = 0.75, WIDTH_IN - 0.75 - 0.3
        top_ax = axes_in(fig, left, 0.55 + PANEL_IN + 0.45, width, PANEL_IN)
        bottom_ax = axes_in(fig, left, 0.55, width, PANEL_IN)
        _panel(top_ax, days, [d.new_payers for d in days], hi, locale, t("chart.payers.count", locale),
               band=bands.get("new_payers"))
        _panel(bottom_ax, days, [d.revenue for d in days], hi, locale, t("chart.payers.revenue", locale),
               inner=[d.new_payer_revenue for d in days], band=bands.get("revenue"))
        top_ax.set_xticks([])
        # Ticks every 7 days counted back from D, so D itself always carries a date.
        anchor = hi if hi >= 0 else len(days) - 1
        ticks = sorted(range(anchor, -1, -7))
        bottom_ax.set_xticks(ticks)
        bottom_ax.set_xticklabels([fmt_short_date(days[i].date, locale) for i in ticks],
                                  fontsize=SMALL_PT)
        fw, fh = fig.get_size_inches()
        handles = [
            Line2D([], [], color=AVG_COLOR, linewidth=1.8, label=t("chart.payers.avg", locale)),
            Patch(color=HIGHLIGHT, label=fmt_short_date(day, locale)),
        ]
        if bands and hi >= 0:
            handles.append(Patch(color=BAND_COLOR, alpha=0.35, label=t("chart.payers.band", locale)))
        fig.legend(handles=handles, loc="upper left", ncol=len(handles), frameon=False, fontsize=SMALL_PT,
            bbox_to_anchor=(left / fw - 0.01, (height - HEADER_IN + 0.05) / fh),
            handlelength=1.4, columnspacing=1.2)
        bottom_ax.legend(handles=[
            Patch(color=ACCENT_LIGHT, label=t("chart.payers.all_payments", locale)),
            Patch(color=ACCENT, label=t("chart.payers.new_revenue", locale)),
        ], loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False,
            fontsize=SMALL_PT, handlelength=1.0, columnspacing=1.0, borderaxespad=0.1)
        return to_png(fig)
