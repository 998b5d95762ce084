"""A report's checked numbers (docs/normal.md): the session days their metrics read built first,
by the session store's own processor, then every metric's series through the detector
(metrics.baselines). Which metrics have numbers, and their series, is their specs' word
(reports.registry)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from db.source import Source
from metrics.baselines import Baseline, Series, daily_baselines
from metrics.config import MetricConfig
from metrics.day import ReportDay
from metrics.scope import Scope
from metrics.sessions import SessionStore
from reports.registry import REGISTRY, names, series_of

log = logging.getLogger(__name__)


def store_days(src: Source, cfg: MetricConfig, days: Iterable[ReportDay], metrics: Sequence[str]) -> list[date] | None:
    """The session days these metrics read for these report days (their specs' store_days);
    None when none of them reads the store (or the source cannot feed it)."""
    readers = [s for n, s in REGISTRY.items() if n in metrics and s.store_days is not None
               and not s.needs(cfg).missing(src)]
    if not readers:
        return None
    return sorted({d for day in days for s in readers for d in s.store_days(cfg, day)})


def prepare_store(engine: Engine, src: Source, cfg: MetricConfig, days: Sequence[ReportDay],
                  metrics: Sequence[str]) -> bool:
    """Bring the session store up to date for these metrics and report days before they read it:
    synced (new rows, changed links) and the days they read built, a day per transaction on two
    connections. False when nothing needed it. A failure other than a lost connection is logged:
    the metrics that needed the store then report it themselves (metrics.sessions.SessionsNotBuilt)."""
    from metrics.sessions.backfill import prepare

    wanted = store_days(src, cfg, days, metrics)
    if wanted is None:
        return False
    try:
        prepare(engine, SessionStore(src, cfg.attribution, days[-1].timezone), wanted, workers=2)
    except sa.exc.OperationalError:
        raise
    except Exception:
        log.exception("building the sessions of %s failed", days[-1].day)
    return True


def series(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
           metrics: Sequence[str] | None = None) -> list[Series]:
    """Every checked number's daily values over the detector's 12 weeks before D and D, of these
    metrics (default: all with numbers), read where the store has built them. (Another window:
    each metric's series function, reports.registry.series_of.)"""
    from metrics.detector.check import HISTORY_DAYS

    return [s for fn in series_of(metrics or names()).values() for s in fn(conn, src, cfg, day, scope, HISTORY_DAYS)]


def section8(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
             metrics: Sequence[str] | None = None) -> list[Baseline]:
    """Section 8's detector on these metrics' numbers (the benchmark's "today's" and the
    hand-worked tests of its bands): a drop-in for `checked`."""
    from metrics.baselines.section8 import section8_baselines

    return section8_baselines(conn, src, cfg, day, scope, series_of(metrics or names()))


def checked(conn: Connection, src: Source, cfg: MetricConfig, day: ReportDay, scope: Scope | None = None,
            metrics: Sequence[str] | None = None) -> list[Baseline]:
    """Every checked number of these metrics (default: all) on `day`, judged."""
    return daily_baselines(conn, src, cfg, day, scope, series_of(metrics or names()))
