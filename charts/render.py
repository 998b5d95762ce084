"""Every chart of a digest: metric results in, (name, PNG bytes) out, in digest order.

A metric that was skipped gets no chart (the text says why). A metric whose result is empty gets a
'no data for D' image from its own renderer. A renderer that fails on data nobody foresaw must
not take the digest down: it is logged and replaced by the 'no data' image.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from charts import attribution, campaigns, funnel, hanging, new_payers
from charts.empty import render_empty
from charts.labels import norm_locale
from charts.words import w

log = logging.getLogger(__name__)

# Digest order: what is stuck first, then money, then why.
RENDERERS: dict[str, tuple[Callable[[Any, date, str], bytes], str]] = {
    "hanging": (hanging.render, "hanging.title"),
    "new_payers": (new_payers.render, "payers.title"),
    "funnel": (funnel.render, "funnel.title"),
    "attribution": (attribution.render, "attr.title"),
    "campaigns": (campaigns.render, "camp.title"),
}


def render_one(name: str, result: Any, day: date, locale: str = "en", bands: dict | None = None) -> bytes:
    """`bands`: field -> (low, high) of D's usual band, drawn by the charts that show the field."""
    render, title_key = RENDERERS[name]
    locale = norm_locale(locale)
    try:
        return render(result, day, locale, bands=bands) if bands else render(result, day, locale)
    except Exception:
        log.exception("chart %s failed for %s; sending the 'no data' image instead", name, day)
        return render_empty(w(title_key, locale), day, locale)


def render_all(outcomes: dict, day, locale: str = "en", baselines=()) -> list[tuple[str, bytes]]:
    """`outcomes`: name -> object with .result (None when skipped); `day`: a ReportDay or date;
    `baselines`: metrics.baselines.Baseline items (the new-payers chart shades their bands)."""
    d = getattr(day, "day", day)
    out = []
    for name in RENDERERS:
        outcome = outcomes.get(name)
        if outcome is None or getattr(outcome, "result", None) is None:
            continue
        bands = {b.field: (b.low, b.high) for b in baselines
                 if b.metric == name and b.key is None and b.low is not None and name in BANDED}
        out.append((name, render_one(name, outcome.result, d, locale, bands or None)))
    return out


BANDED = ("new_payers",)  # the charts whose renderer takes `bands`
