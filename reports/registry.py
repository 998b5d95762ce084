"""Every metric of the digest, in digest order: one spec each (reports.spec.MetricSpec), and the
one place the rest of SalesPulse asks which metrics, numbers, charts and words there are.

The built-in metrics' specs are reports/specs/<name>.py. Another metric is a folder of its own
(`register_folder`, or the METRIC_PLUGINS setting): its module `metric.py` with a `SPEC`, its
`.sql`, its chart module and its words (`en.toml`, other languages optional); nothing else of
SalesPulse changes (docs/architecture.md).
"""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

from charts.spec import ChartSpec
from db.i18n import add_catalogue
from metrics.baselines import SeriesFn
from metrics.checked import Number
from metrics.config import MetricConfig
from reports.requirements import Requirements
from reports.spec import MetricSpec
from reports.specs import attribution, campaigns, funnel, hanging, new_payers

# Digest order: what is stuck first, then money, then why.
REGISTRY: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    """Add (or replace) a metric; it comes after the ones already there."""
    taken = {a for s in REGISTRY.values() if s.name != spec.name for a in (s.name, *s.aliases)}
    clash = {spec.name, *spec.aliases} & taken
    if clash:
        raise ValueError(f"metric {spec.name!r}: {', '.join(sorted(clash))} already names another metric")
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def register_folder(folder: Path | str) -> MetricSpec:
    """A metric from a folder of its own: the folder becomes the package `salespulse_metric_<its
    name>`, whose `metric` module holds the SPEC (so its chart is `<package>.<module>` and its SQL
    sits beside it); its words come from the `<lang>.toml` files there."""
    folder = Path(folder).resolve()
    if not (folder / "metric.py").exists():
        raise ValueError(f"{folder} holds no metric.py: a metric folder needs its module (with SPEC) there")
    package = types.ModuleType(f"salespulse_metric_{folder.name}")
    package.__path__ = [str(folder)]
    sys.modules[package.__name__] = package
    for words in sorted(folder.glob("*.toml")):
        add_catalogue(words.stem, words)
    return register(importlib.import_module(f"{package.__name__}.metric").SPEC)


def names() -> tuple[str, ...]:
    """The metrics, in digest order."""
    return tuple(REGISTRY)


def aliases() -> dict[str, str]:
    """A word people type -> the metric it names."""
    return {alias: name for name, spec in REGISTRY.items() for alias in spec.aliases}


def charts() -> dict[str, ChartSpec]:
    """The charts of a digest, in digest order (charts.render draws them; charts never import reports)."""
    return {name: s.chart for name, s in REGISTRY.items() if s.chart is not None}


def numbers() -> list[Number]:
    """Every checked number, metric by metric in digest order, each metric's in its own order."""
    return [n for s in REGISTRY.values() for n in s.numbers]


def number(metric: str, field: str) -> Number | None:
    return next((n for n in numbers() if (n.metric, n.field) == (metric, field)), None)


def series_of(metrics: tuple[str, ...] | list[str]) -> dict[str, SeriesFn]:
    """The series functions of these metrics (those that have checked numbers): the metric whose
    numbers weigh most first (money and payers lead the JSON's `baselines`), then digest order."""
    found = [s for n, s in REGISTRY.items() if n in metrics and s.series is not None]
    found.sort(key=lambda s: -max((n.weight for n in s.numbers), default=0))
    return {s.name: s.series for s in found}




def requirements(name: str, cfg: MetricConfig) -> Requirements:
    """What metric `name` needs under `cfg`: its spec's `needs`."""
    return REGISTRY[name].needs(cfg)


for _spec in (hanging.SPEC, new_payers.SPEC, funnel.SPEC, attribution.SPEC, campaigns.SPEC):
    register(_spec)
