"""Campaign performance as a compact table: one shaded row per channel (its totals), its campaigns
under it (best revenue first), ROAS green when the campaign paid for itself and red when not,
and a footnote with the top block reasons."""
from __future__ import annotations

from datetime import date

from matplotlib.axes import Axes

from charts.empty import render_empty
from charts.labels import shorten
from charts.style import (
    BAD,
    GOOD,
    GRID,
    HEADER_IN,
    INK,
    MUTED,
    SMALL_PT,
    WIDTH_IN,
    axes_in,
    chars_fit,
    header,
    new_figure,
    styled,
    to_png,
)
from db.i18n import t
from db.i18n.formats import DASH, fmt_compact, fmt_date, fmt_num
from metrics.campaigns import CampaignResult, CampaignRow

MAX_ROWS = 28
ROW_IN = 0.3
LEFT_IN = 0.25
NAME_IN = 1.5
COLUMNS = ("camp.sent", "camp.blocked", "camp.failed", "camp.opens", "camp.clicks", "camp.conv",
           "camp.revenue", "camp.cost", "camp.roas")
CELL_PT = 8.5
CHANNEL_FILL = "#eef2ff"


def _cells(row: CampaignRow, locale: str) -> list[str]:
    return [
        fmt_compact(row.sent, locale),
        fmt_compact(row.blocked, locale),
        fmt_compact(row.failed, locale),
        fmt_compact(row.opens, locale),
        fmt_compact(row.human_clicks, locale),
        fmt_compact(row.open_conversions + row.click_conversions, locale),
        fmt_compact(row.revenue, locale),
        fmt_compact(row.cost, locale),
        DASH if row.roas is None else (fmt_compact(row.roas, locale) if row.roas >= 1000
                                      else fmt_num(row.roas, locale, 1 if 0 < row.roas < 10 else 0)),
    ]


def _table_rows(result: CampaignResult) -> tuple[list[tuple[CampaignRow, bool]], int]:
    """(row, is_channel) in display order, capped at MAX_ROWS; returns how many were left out."""
    rank = lambda r: (-r.revenue, -r.sent, r.campaign or "")
    channels = sorted(result.channels, key=rank)
    known = {c.channel for c in channels}
    out: list[tuple[CampaignRow, bool]] = []
    for ch in channels:
        out.append((ch, True))
        out.extend((c, False) for c in sorted(result.campaigns, key=rank) if c.channel == ch.channel)
    # Campaigns of a channel that has no totals row still show (defensive: never drop numbers).
    out.extend((c, False) for c in sorted(result.campaigns, key=rank) if c.channel not in known)
    return out[:MAX_ROWS], max(len(out) - MAX_ROWS, 0)


def _reasons(result: CampaignResult, locale: str) -> str:
    totals: dict[str, int] = {}
    for ch in result.channels or result.campaigns:
        for reason, n in ch.blocked_by_reason.items():
            totals[reason] = totals.get(reason, 0) + n
    top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    return ", ".join(f"{shorten(r, 24)} {fmt_num(n, locale)}" for r, n in top)


def _draw(ax: Axes, rows: list[tuple[CampaignRow, bool]], locale: str, col_w: float) -> None:
    ax.set_xlim(0, WIDTH_IN - 2 * LEFT_IN)
    ax.set_ylim(len(rows) + 0.5, -1)
    ax.axis("off")
    name_chars = chars_fit(NAME_IN - 0.1, CELL_PT)
    budget = chars_fit(col_w, CELL_PT)
    x_cols = [NAME_IN + col_w * (k + 1) - 0.05 for k in range(len(COLUMNS))]
    for k, key in enumerate(COLUMNS):
        ax.text(x_cols[k], -0.35, t("chart." + key, locale), ha="right", va="center", fontsize=7.5,
                color=MUTED, fontweight="bold")
    ax.text(0.05, -0.35, t("chart.camp.name", locale), ha="left", va="center", fontsize=7.5,
            color=MUTED, fontweight="bold")
    ax.axhline(0.02, color=GRID, linewidth=1)
    for i, (row, is_channel) in enumerate(rows):
        y = i + 0.55
        if is_channel:
            ax.axhspan(i + 0.08, i + 1.02, color=CHANNEL_FILL, zorder=0)
            name = shorten(row.channel, name_chars)
        else:
            name = "  " + shorten(row.campaign or t("chart.camp.no_campaign", locale), name_chars - 2)
        weight = "bold" if is_channel else "normal"
        ax.text(0.05, y, name, ha="left", va="center", fontsize=CELL_PT, fontweight=weight, color=INK)
        for k, cell in enumerate(_cells(row, locale)):
            color = INK
            if COLUMNS[k] == "camp.roas" and row.roas is not None:
                color = GOOD if row.roas >= 1 else BAD
            # A number wider than its column shrinks instead of running into the next one.
            size = CELL_PT * min(1.0, budget * (0.9 if is_channel else 1.0) / max(len(cell), 1))
            ax.text(x_cols[k], y, cell, ha="right", va="center", fontsize=max(size, 5.5),
                    fontweight=weight, color=color)


def render(result: CampaignResult, day: date, locale: str) -> bytes:
    title = f"{t('chart.camp.title', locale)} · {fmt_date(day, locale)}"
    if not result.channels and not result.campaigns:
        return render_empty(t("chart.camp.title", locale), day, locale,
                            t("chart.camp.none", locale, day=fmt_date(day, locale)))
    rows, hidden = _table_rows(result)
    reasons = _reasons(result, locale)
    foot_in = 0.2 + (0.28 if reasons else 0) + (0.28 if hidden else 0)
    table_in = (len(rows) + 1.5) * ROW_IN
    height = HEADER_IN + 0.1 + table_in + foot_in
    with styled():
        fig = new_figure(height)
        header(fig, title, t("chart.camp.sub", locale, day=fmt_date(day, locale)))
        col_w = (WIDTH_IN - 2 * LEFT_IN - NAME_IN) / len(COLUMNS)
        ax = axes_in(fig, LEFT_IN, foot_in, WIDTH_IN - 2 * LEFT_IN, table_in)
        _draw(ax, rows, locale, col_w)
        fw, fh = fig.get_size_inches()
        y = foot_in - 0.25
        if hidden:
            fig.text(LEFT_IN / fw, y / fh, t("chart.more_rows", locale, n=fmt_num(hidden, locale)),
                     fontsize=SMALL_PT, color=MUTED, va="bottom")
            y -= 0.28
        if reasons:
            text = t("chart.camp.reasons", locale, reasons=reasons)
            fig.text(LEFT_IN / fw, y / fh, shorten(text, chars_fit(WIDTH_IN - 2 * LEFT_IN, SMALL_PT)),
                     fontsize=SMALL_PT, color=MUTED, va="bottom")
        return to_png(fig)
