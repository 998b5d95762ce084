"""Which chart draws a metric: plain data, so naming a chart does not load matplotlib."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartSpec:
    module: str  # a charts module whose render(result, day, locale[, bands=]) draws it, imported on first use
    title: str  # catalogue key of its title (db.i18n), for the 'no data' image when the renderer fails
    banded: bool = False  # its renderer takes `bands` and shades them
