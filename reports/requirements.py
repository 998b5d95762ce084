"""Which source tables each metric needs, derived from the metric configuration.

A table is *required* when the metric cannot give its numbers without it, *optional* when the
metric runs without it and loses something named in `Optional.lost`. The digest skips a metric
whose required tables are missing (with the reason) and notes what the missing optional ones
cost; `salespulse check` prints the same verdicts before the first report.
"""
from __future__ import annotations

from dataclasses import dataclass

from db.i18n import Message
from db.source import Source
from metrics.config import PURCHASE, MetricConfig

EVENTS = ("events", "events_dict")


@dataclass(frozen=True)
class Optional:
    tables: tuple[str, ...]
    lost: str  # what the metric does without them


@dataclass(frozen=True)
class Requirements:
    metric: str
    required: tuple[str, ...]
    optional: tuple[Optional, ...] = ()
    why: str = ""  # why the required tables are needed

    def missing(self, src: Source) -> list[str]:
        return src.missing(*self.required)

    def skip_reason(self, src: Source) -> Message | None:
        """'no table events, events_dict' in English; each language's words from its key."""
        missing = self.missing(src)
        if not missing:
            return None
        return Message("digest.no_tables" if len(missing) > 1 else "digest.no_table", tables=", ".join(missing))

    def notes(self, src: Source) -> list[str]:
        """What the metric leaves out on this source: the optional tables that are missing (only
        those: naming a present one beside them read as if it were missing too), and what is lost."""
        return [
            f"without {', '.join(missing)}: {o.lost}"
            for o in self.optional if (missing := src.missing(*o.tables))
        ]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.required + tuple(t for o in self.optional for t in o.tables)))


def _exclusion(cfg: MetricConfig) -> tuple[Optional, ...]:
    """The experiment exclusion reads events/events_dict only when it is on and names events."""
    if not cfg.excluded_events:
        return ()
    return (Optional(EVENTS, "experiment-flow users are not excluded"),)


def hanging(cfg: MetricConfig) -> Requirements:
    purchase = any(p.ends_on_purchase for p in cfg.hanging.pipelines)
    return Requirements(
        "hanging", EVENTS,
        (Optional(("payments",), "pipelines ending on purchase close by their end events only"),)
        if purchase else (),
        why="start and end events of the pipelines",
    )


def funnel(cfg: MetricConfig) -> Requirements:
    purchase = PURCHASE in cfg.funnel.steps
    optional = [Optional(("web_events", "payments"), "no breakdown of the cohort by acquisition channel")]
    if not purchase:
        optional.insert(0, Optional(("payments",), "payments are not among the cohort's events for clustering"))
    return Requirements(
        "funnel", EVENTS + (("payments",) if purchase else ()), tuple(optional),
        why="the funnel steps" + (" (the step purchase reads payments)" if purchase else ""),
    )


def new_payers(cfg: MetricConfig) -> Requirements:
    return Requirements("new_payers", ("payments",), _exclusion(cfg), why="the payments")


def attribution(cfg: MetricConfig) -> Requirements:
    return Requirements(
        "attribution", ("web_events", "payments"), _exclusion(cfg),
        why="sessions from web_events, credited with payments",
    )


def campaigns(cfg: MetricConfig) -> Requirements:
    return Requirements(
        "campaigns", ("message_sends", "message_interactions", "payments"),
        (Optional(("web_events",), "clicks are not checked for human web activity (every click counts)"),)
        + _exclusion(cfg),
        why="sends, their opens and clicks, and the payments after them",
    )


def requirements(name: str, cfg: MetricConfig) -> Requirements:
    """What metric `name` needs under `cfg`: its spec's `needs` (reports.registry)."""
    from reports.registry import REGISTRY  # here, not on top: the registry imports this module

    return REGISTRY[name].needs(cfg)
