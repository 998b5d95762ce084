"""Channel attribution: channels by revenue (left) and conversions (right) under the default model
as bars, every other model as a coloured dot on the same row, so 'how the models differ' is the
distance between a dot and its bar end."""
from __future__ import annotations

from datetime import date

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from charts.empty import render_empty
from charts.labels import wrap
from charts.names import channel_name, model_name
from charts.style import (
    ACCENT_LIGHT,
    HEADER_IN,
    INK,
    MODEL_COLORS,
    MODEL_MARKERS,
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
from db.i18n.formats import fmt_compact, fmt_count, fmt_date, fmt_num
from metrics.attribution import AttributionResult, ChannelRow

MAX_ROWS = 15
ROW_IN = 0.5
LABEL_IN = 1.6
NUM_IN = 0.78  # the value column right of each panel
LEFT_IN = 0.3


def _rows(result: AttributionResult) -> tuple[list[str], dict[str, ChannelRow], dict[str, dict]]:
    """Channel order (default revenue, then conversions, then sessions) and per-model lookups."""
    default = {c.channel: c for c in result.channels}
    others = {m: {c.channel: c for c in rows} for m, rows in result.models.items() if m != result.model}
    names = set(default)
    for rows in others.values():
        names |= set(rows)

    def key(name: str) -> tuple:
        c = default.get(name)
        return (-(c.revenue if c else 0), -(c.conversions if c else 0), -(c.sessions if c else 0), name)

    return sorted(names, key=key), default, others


def _has_data(result: AttributionResult) -> bool:
    rows = list(result.channels) + [c for rows in result.models.values() for c in rows]
    return any(c.sessions or c.conversions or c.revenue for c in rows)


def _panel(ax: Axes, names: list[str], default: dict, others: dict, field: str, title: str,
           locale: str) -> None:
    def value(row: ChannelRow | None) -> float:
        return float(getattr(row, field)) if row is not None else 0.0

    top = max([value(default.get(n)) for n in names]
              + [value(m.get(n)) for m in others.values() for n in names] + [1e-9])
    clean_axes(ax)
    # A margin left of zero keeps a dot at 0 inside the track, clear of the channel's label.
    ax.set_xlim(-top * 0.03, top * 1.04)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, loc="left", fontsize=10.5, fontweight="bold", color=INK, pad=6)
    numbers = blended_transform_factory(ax.transAxes, ax.transData)
    fmt = fmt_compact if field == "revenue" else fmt_count
    for i, n in enumerate(names):
        ax.barh(i, top * 1.07, left=-top * 0.03, height=0.56, color=TRACK, zorder=0)
        v = value(default.get(n))
        ax.barh(i, v, height=0.56, color=ACCENT_LIGHT, zorder=1)
        ax.text(1.04, i, fmt(v, locale), transform=numbers, va="center", ha="left",
                fontsize=9, fontweight="bold", color=INK if v else MUTED)
        for k, (m, rows) in enumerate(others.items()):
            # Models spread a little vertically, so equal values stay visible as separate dots.
            dy = (k - (len(others) - 1) / 2) * min(0.07, 0.4 / max(len(others), 1))
            ax.plot(value(rows.get(n)), i + dy, marker=MODEL_MARKERS[k % len(MODEL_MARKERS)],
                    color=MODEL_COLORS[k % len(MODEL_COLORS)], markersize=6.5, linestyle="none",
                    zorder=3, markeredgecolor="white", markeredgewidth=0.6, clip_on=False)


def render(result: AttributionResult, day: date, locale: str) -> bytes:
    model = model_name(result.model, locale)
    title = f"{t('chart.attr.title', locale)} · {fmt_date(day, locale)}"
    if not _has_data(result):
        return render_empty(t("chart.attr.title", locale), day, locale)
    names, default, others = _rows(result)
    hidden = len(names) - MAX_ROWS
    names = names[:MAX_ROWS]
    legend_in = 0.05 + 0.2 * ((len(others) + 1 + 2) // 3)
    rows_in = len(names) * ROW_IN
    foot_in = 0.2 + (0.3 if hidden > 0 else 0)
    height = HEADER_IN + legend_in + 0.35 + rows_in + foot_in
    with styled():
        fig = new_figure(height)
        header(fig, title, t("chart.attr.sub", locale, day=fmt_date(day, locale), model=model))
        x0 = LEFT_IN + LABEL_IN + 0.1
        panel_w = (WIDTH_IN - x0 - 0.15 - 2 * NUM_IN - 0.2) / 2
        for k, (field, key) in enumerate((("revenue", "attr.revenue"), ("conversions", "attr.conversions"))):
            ax = axes_in(fig, x0 + k * (panel_w + NUM_IN + 0.2), foot_in, panel_w, rows_in)
            _panel(ax, names, default, others, field, t("chart." + key, locale), locale)
            if k == 0:
                labels = []
                for n in names:
                    c = default.get(n)
                    sub = t("chart.attr.sessions", locale, s=fmt_num(c.sessions if c else 0, locale),
                            u=fmt_num(c.users if c else 0, locale))
                    labels.append(wrap(channel_name(n, locale), chars_fit(LABEL_IN, 10), 1) + "\n")
                    ax.text(-0.04, names.index(n) + 0.22, wrap(sub, chars_fit(LABEL_IN, 7.5), 1),
                            transform=blended_transform_factory(ax.transAxes, ax.transData),
                            ha="right", va="center", fontsize=7.5, color=MUTED)
                ax.set_yticks(range(len(names)))
                ax.set_yticklabels(labels, fontsize=10, linespacing=1.0)
        fw, fh = fig.get_size_inches()
        handles = [Patch(color=ACCENT_LIGHT, label=model)] + [
            Line2D([], [], marker=MODEL_MARKERS[k % len(MODEL_MARKERS)], linestyle="none",
                   color=MODEL_COLORS[k % len(MODEL_COLORS)], markersize=6.5,
                   label=model_name(m, locale))
            for k, m in enumerate(others)
        ]
        fig.legend(handles=handles, loc="upper left", ncol=3, frameon=False, fontsize=SMALL_PT,
                   bbox_to_anchor=(LEFT_IN / fw - 0.01, (height - HEADER_IN + 0.05) / fh),
                   handlelength=1.2, columnspacing=1.0)
        if hidden > 0:
            fig.text(LEFT_IN / fw, 0.12 / fh, t("chart.more_rows", locale, n=fmt_num(hidden, locale)),
                     fontsize=SMALL_PT, color=MUTED, va="bottom")
        return to_png(fig)
