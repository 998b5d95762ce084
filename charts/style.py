"""One look for every chart: 1080 px wide PNGs, DejaVu Sans (ships with matplotlib, has Cyrillic
and Vietnamese) with a CJK font after it for Chinese (charts.fonts),
a small palette, a title that says what and for which day, layout in inches.

Figures are built with matplotlib.figure.Figure, not pyplot: no global figure registry, nothing to
close, safe in the bot's worker threads. Layout is done by hand in inches (not tight_layout):
labels are wrapped/truncated to fixed character budgets, so positions are predictable and the
width is always exactly WIDTH_PX.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from charts.fonts import check_figure, families

DPI = 150
WIDTH_IN = 7.2  # 7.2 in * 150 dpi = 1080 px: a phone's screen width, sharp without zooming
WIDTH_PX = int(WIDTH_IN * DPI)
MAX_HEIGHT_IN = 16.0  # a tall, thin PNG becomes unreadable in Telegram's preview

INK = "#1f2933"  # text
MUTED = "#6b7785"  # secondary text
GRID = "#e4e7eb"
TRACK = "#eef1f4"  # background of a bar (the 100% track)
ACCENT = "#2563eb"  # the main series
ACCENT_LIGHT = "#a9c1f5"
HIGHLIGHT = "#f59e0b"  # the report day
GOOD = "#15803d"
BAD = "#b91c1c"
# Older = worse: the hanging age buckets go from amber to deep red.
AGE_COLORS = ("#fcd34d", "#f59e0b", "#ea580c", "#b91c1c", "#7f1d1d", "#450a0a")
MODEL_COLORS = ("#0f766e", "#9333ea", "#db2777", "#ca8a04", "#0891b2", "#4d7c0f", "#57534e")
MODEL_MARKERS = ("o", "D", "s", "^", "v", "P", "X")

FONT = "DejaVu Sans"
BASE_PT = 10.5
TITLE_PT = 15
SUB_PT = 9.5
SMALL_PT = 8.5

# Average glyph advance of DejaVu Sans as a fraction of the font size; used to budget characters.
CHAR_EM = 0.58

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": BASE_PT,
    "text.color": INK,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": INK,
    "axes.unicode_minus": False,  # hyphen-minus, same as the text digest
    "svg.fonttype": "none",
}

HEADER_IN = 0.95  # title + subtitle band at the top


def chars_fit(width_in: float, size_pt: float = BASE_PT) -> int:
    """How many average characters of DejaVu Sans at size_pt fit in width_in inches."""
    return max(int(width_in * 72 / (size_pt * CHAR_EM)), 4)


@contextmanager
def styled() -> Iterator[None]:
    # the family list itself, not "sans-serif": matplotlib falls back glyph by glyph only along it
    with matplotlib.rc_context({**STYLE, "font.family": list(families())}):
        yield


def new_figure(height_in: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, min(max(height_in, 2.4), MAX_HEIGHT_IN)), dpi=DPI)


def axes_in(fig: Figure, left: float, bottom: float, width: float, height: float) -> Axes:
    """An axes placed in inches from the figure's bottom-left corner."""
    fw, fh = fig.get_size_inches()
    return fig.add_axes((left / fw, bottom / fh, width / fw, height / fh))


def header(fig: Figure, title: str, subtitle: str = "") -> None:
    """Title (what and which day) and a muted subtitle, both cut to the figure width."""
    from charts.labels import shorten

    fh = fig.get_size_inches()[1]
    fig.text(0.3 / WIDTH_IN, 1 - 0.22 / fh, shorten(title, chars_fit(WIDTH_IN - 0.6, TITLE_PT) - 2),
             fontsize=TITLE_PT, fontweight="bold", va="top", ha="left", color=INK)
    if subtitle:
        fig.text(0.3 / WIDTH_IN, 1 - 0.6 / fh, shorten(subtitle, chars_fit(WIDTH_IN - 0.6, SUB_PT)),
                 fontsize=SUB_PT, va="top", ha="left", color=MUTED)


def clean_axes(ax: Axes, keep_left: bool = False) -> None:
    for side in ("top", "right", "bottom") if keep_left else ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)


def to_png(fig: Figure) -> bytes:
    check_figure(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()
