"""Readiness follows the configuration: a metric runs, is off, or cannot run.

The rule (each metric's `enabled` key, metrics.enabled): with "auto" a metric whose required tables
are all there runs, and one with a table absent is *off*, which is not an error (a shop without
campaign tables is ready); with true an absent table means it *cannot run*; with false it is off
whatever exists. `salespulse check` and the digest both ask this one function, so they say the
same thing. A table that exists but cannot serve is judged by check itself (reports.check), never
called "off": the company has the data and it does not work.
"""
from __future__ import annotations

from dataclasses import dataclass

from db.i18n import Message
from db.source import Source
from metrics.config import MetricConfig
from metrics.enabled import AUTO, OFF, ON
from reports.requirements import Requirements

RUNS, IS_OFF, CANNOT_RUN = "runs", "off", "cannot run"


@dataclass(frozen=True)
class Readiness:
    state: str  # RUNS, IS_OFF or CANNOT_RUN
    reason: str = ""  # why not (a db.i18n Message: each language words it), "" when it runs
    hint: str = ""  # the configuration key that changes the verdict

    @property
    def runs(self) -> bool:
        return self.state == RUNS


def readiness(needs: Requirements, cfg: MetricConfig, src: Source) -> Readiness:
    """The metric of `needs` on the source `src` (which tables exist) under `cfg`."""
    name, setting = needs.metric, cfg.enabled.get(needs.metric, AUTO)
    if setting == OFF:
        return Readiness(IS_OFF, Message("digest.off_config"),
                         f'set [{name}] enabled = "auto" to run it when its tables exist')
    reason = needs.skip_reason(src)
    if reason is None:
        return Readiness(RUNS)
    if setting == ON:
        return Readiness(CANNOT_RUN, reason, f"required by [{name}] enabled = true")
    return Readiness(IS_OFF, reason, f"set [{name}] enabled = true to require it")
