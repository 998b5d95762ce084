"""Hanging processes: one stacked bar per pipeline (age buckets, older = redder), stuck ones first,
with 'new today' and 'open within SLA' as two number columns on the right."""
from __future__ import annotations

from datetime import date

from matplotlib.patches import Patch

from charts.empty import render_empty
from charts.labels import wrap
from charts.names import shown_name
from charts.style import (
    AGE_COLORS,
    BAD,
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
from db.i18n.formats import fmt_date, fmt_num
from metrics.hanging import HangingResult, PipelineStatus

MAX_ROWS = 30  # more pipelines than this do not fit a phone screen; the rest are counted
ROW_IN = 0.46
LABEL_IN = 2.2
COL_IN = 0.78  # each of the two number columns on the right
LEFT_IN = 0.3


def _buckets(pipes: list[PipelineStatus]) -> list[str]:
    """Bucket labels in age order, the union over pipelines (they normally share one config)."""
    seen: dict[str, int] = {}
    for p in pipes:
        for b in p.age_buckets:
            seen.setdefault(b.label, b.from_days)
    return sorted(seen, key=lambda label: seen[label])


def _segments(p: PipelineStatus, labels: list[str]) -> list[int]:
    by_label = {b.label: b.users for b in p.age_buckets}
    values = [by_label.get(label, 0) for label in labels]
    # Buckets need not cover every age (config gaps): the remainder is drawn as "other".
    values.append(max(p.hanging - sum(values), 0))
    return values


def render(result: HangingResult, day: date, locale: str) -> bytes:
    title = f"{t('chart.hanging.title', locale)} · {fmt_date(day, locale)}"
    pipes = sorted(result.pipelines, key=lambda p: (-p.hanging, -p.breached_today, p.name))
    if not pipes:
        return render_empty(t("chart.hanging.title", locale), day, locale)
    if all(p.hanging == 0 and p.open_within_sla == 0 for p in pipes):
        return render_empty(t("chart.hanging.title", locale), day, locale,
                            t("chart.hanging.none", locale, day=fmt_date(day, locale)))
    shown, hidden = pipes[:MAX_ROWS], len(pipes) - MAX_ROWS
    labels = _buckets(shown)
    n = len(shown)
    legend_in, foot_in = 0.5, 0.3 + (0.3 if hidden > 0 else 0)
    rows_in = n * ROW_IN
    height = HEADER_IN + legend_in + rows_in + foot_in

    with styled():
        fig = new_figure(height)
        header(fig, title, t("chart.hanging.sub", locale, day=fmt_date(day, locale)))
        plot_left = LEFT_IN + LABEL_IN + 0.1
        plot_w = WIDTH_IN - plot_left - 2 * COL_IN - 0.25
        ax = axes_in(fig, plot_left, foot_in, plot_w, rows_in)
        clean_axes(ax)
        top = max(max(p.hanging for p in shown), 1)
        ax.set_xlim(0, top * 1.22)  # room for the total at the end of the longest bar
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks(range(n))
        ax.set_yticklabels([wrap(shown_name(p.name, locale), chars_fit(LABEL_IN), 2) for p in shown], fontsize=10)
        colors = list(AGE_COLORS[: len(labels)]) + ["#9ca3af"]
        for i, p in enumerate(shown):
            ax.barh(i, top * 1.22, height=0.62, color=TRACK, zorder=0)
            left = 0
            for value, color in zip(_segments(p, labels), colors):
                if value:
                    ax.barh(i, value, left=left, height=0.62, color=color, zorder=1)
                    left += value
            ax.text(p.hanging + top * 0.02, i, fmt_num(p.hanging, locale), va="center",
                    fontweight="bold", color=BAD if p.hanging else MUTED, fontsize=10.5)
        # The two number columns, right of the plot, aligned with the rows.
        fw, fh = fig.get_size_inches()
        for c, (key, values, color) in enumerate((
            ("hanging.today", [p.breached_today for p in shown], BAD),
            ("hanging.in_sla", [p.open_within_sla for p in shown], INK),
        )):
            x = (plot_left + plot_w + 0.15 + COL_IN * (c + 0.5)) / fw
            fig.text(x, (foot_in + rows_in + 0.05) / fh, t("chart." + key, locale), ha="center", va="bottom",
                     fontsize=SMALL_PT, color=MUTED, linespacing=1.0)
            for i, v in enumerate(values):
                y = (foot_in + rows_in - (i + 0.5) * ROW_IN) / fh
                text = ("+" if key == "hanging.today" and v else "") + fmt_num(v, locale)
                fig.text(x, y, text, ha="center", va="center", fontsize=10,
                         color=color if v else MUTED)
        handles = [Patch(color=c, label=label) for c, label in zip(colors, labels)]
        if any(_segments(p, labels)[-1] for p in shown):
            handles.append(Patch(color=colors[-1], label=t("chart.hanging.other", locale)))
        if handles:
            fig.legend(handles=handles, loc="upper left", ncol=len(handles) + 1, frameon=False,
                       bbox_to_anchor=(plot_left / fw, (height - HEADER_IN + 0.02) / fh),
                       fontsize=SMALL_PT, handlelength=1.0, columnspacing=0.9,
                       title=t("chart.hanging.age", locale), title_fontsize=SMALL_PT,
                       alignment="left")
        if hidden > 0:
            fig.text(LEFT_IN / fw, 0.15 / fh, t("chart.more_rows", locale, n=fmt_num(hidden, locale)),
                     fontsize=SMALL_PT, color=MUTED, va="bottom")
        return to_png(fig)
