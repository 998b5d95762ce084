"""The 'no data for D' image: a chart slot that is honest instead of blank (or a crash)."""
from __future__ import annotations

from datetime import date

from charts.labels import wrap
from charts.style import MUTED, WIDTH_IN, chars_fit, header, new_figure, styled, to_png
from db.i18n import t
from db.i18n.formats import fmt_date


def render_empty(title: str, day: date, locale: str, message: str | None = None) -> bytes:
    """`message` defaults to 'No data for D'; callers pass a more specific one when they know it."""
    with styled():
        fig = new_figure(2.6)
        header(fig, f"{title} · {fmt_date(day, locale)}")
        text = message or t("chart.no_data", locale, day=fmt_date(day, locale))
        fig.text(0.5, 0.42, wrap(text, chars_fit(WIDTH_IN - 0.8, 16), 3), fontsize=16,
                 color=MUTED, ha="center", va="center")
        return to_png(fig)
