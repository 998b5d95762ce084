"""Charts: pure functions from metric results to PNG bytes (matplotlib, Agg backend).

No SQL and no imports from reports/ or db/: each module takes a metric result dataclass, the
report date and a locale (a file of charts/i18n/locales) and returns PNG bytes, 1080 px wide, under 1 MB.
"""
from __future__ import annotations


def render_charts(outcomes: dict, day, locale: str = "en", baselines=(), *, charts) -> list[tuple[str, bytes]]:
    """`baselines`: metrics.baselines.Baseline items; the new-payers chart shades their bands.
    `charts`: name -> charts.spec.ChartSpec in sending order (reports.registry.CHARTS)."""
    from charts.render import render_all

    return render_all(outcomes, day, locale, baselines, charts)
