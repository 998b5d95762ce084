"""Charts: pure functions from metric results to PNG bytes (matplotlib, Agg backend)."""
from __future__ import annotations


def render_charts(outcomes: dict, day, locale: str = "en") -> list:
    from charts.render import render_all

    return render_all(outcomes, day, locale)
