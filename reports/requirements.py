"""The source tables a metric needs, derived from the metric configuration: each metric's spec
declares its rule (reports.specs.<name>.needs), built from these pieces.

A table is *required* when the metric cannot give its numbers without it, *optional* when the
metric runs without it and loses something named in `Optional.lost`. The digest skips a metric
whose required tables are missing (with the reason) and notes what the missing optional ones
cost; `salespulse check` prints the same verdicts before the first report.
"""
from __future__ import annotations

from dataclasses import dataclass

from db.i18n import Message
from db.source import Source
from metrics.config import MetricConfig

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
    events: tuple[str, ...] = ()  # the configured event names it reads (`check` looks them up)

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


def exclusion(cfg: MetricConfig) -> tuple[Optional, ...]:
    """The experiment exclusion reads events/events_dict only when it is on and names events."""
    if not cfg.excluded_events:
        return ()
    return (Optional(EVENTS, "experiment-flow users are not excluded"),)
