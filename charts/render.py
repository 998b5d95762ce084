"""Every chart of a digest: metric results in, (name, PNG bytes) out, in digest order.

Which metric has which chart is the caller's table (reports.registry.CHARTS: name -> ChartSpec),
since charts never import reports. A renderer's module is imported on first use.

A metric that was skipped gets no chart (the text says why). A metric whose result is empty gets a
'no data for D' image from its own renderer. A renderer that fails on data nobody foresaw must
not take the digest down: it is logged and replaced by the 'no data' image.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from importlib import import_module
from typing import Any

from charts.empty import render_empty
from charts.spec import ChartSpec
from db.i18n import norm_locale, t

log = logging.getLogger(__name__)


def renderer(spec: ChartSpec) -> Callable[..., bytes]:
    """The spec's render(result, day, locale[, bands=])."""
    return import_module(spec.module).render


def render_one(spec: ChartSpec, result: Any, day: date, locale: str = "en", bands: dict | None = None) -> bytes:
    """`bands`: field -> (low, high) of D's usual band, drawn by the charts that show the field."""
    render = renderer(spec)
    locale = norm_locale(locale)
    try:
        return render(result, day, locale, bands=bands) if bands else render(result, day, locale)
    except Exception:
        log.exception("chart %s failed for %s; sending the 'no data' image instead", spec.module, day)
        return render_empty(t(spec.title, locale), day, locale)


def render_all(outcomes: dict, day, locale: str, baselines, charts: Mapping[str, ChartSpec]) -> list[tuple[str, bytes]]:
    """`outcomes`: name -> object with .result (None when skipped); `day`: a ReportDay or date;
    `baselines`: metrics.baselines.Baseline items (banded charts shade their bands);
    `charts`: name -> ChartSpec, in the order the charts are sent."""
    d = getattr(day, "day", day)
    out = []
    for name, spec in charts.items():
        outcome = outcomes.get(name)
        if outcome is None or getattr(outcome, "result", None) is None:
            continue
        bands = {b.field: (b.low, b.high) for b in baselines
                 if b.metric == name and b.key is None and b.low is not None and spec.banded}
        out.append((name, render_one(spec, outcome.result, d, locale, bands or None)))
    return out
