"""What the detector costs a digest: section 12's (cold: the store of finished days empty, as at
the first digest after an install; warm: a daily digest) against section 8's, at a history size.

    python -m bench.baselines_cost [--months 6] [--leads-per-day 2000] [--web-per-day 40000]
                                   [--sends-per-day 5000] [--repeat 3]

A dataset of bench.datasets (the speed table's by default), its session store built for the
detector's 12 weeks (a daily bot's store holds them); then `--repeat` times: section 8's
`section8_baselines`, section 12's `daily_baselines` with `baseline_days` emptied first (cold),
and again (warm), each on the report day of the dataset, all metrics. Wall time of the call.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

from bench.datasets import REPORT_DAY, DatasetSpec, ensure
from db.engine import database_url, make_engine
from db.settings import load_settings
from db.source import inspect_source
from db.sql import quote
from db.state import migrate
from metrics.config import load_config
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.sessions import SessionStore
from metrics.sessions.backfill import day_range, prepare
from reports.baselines import checked as daily_baselines
from reports.baselines import section8 as section8_baselines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.baselines_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--months", type=int, default=6)
    p.add_argument("--leads-per-day", type=int, default=2000)
    p.add_argument("--web-per-day", type=int, default=40000)
    p.add_argument("--sends-per-day", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    engine = make_engine(database_url(load_settings()), "UTC")
    spec = DatasetSpec(months=args.months, leads_per_day=args.leads_per_day, web_per_day=args.web_per_day,
                       sends_per_day=args.sends_per_day)
    ensure(engine, spec, progress=True)
    state = spec.schema + "_baselines"
    migrate(engine, state)
    cfg, day = load_config(), ReportDay(REPORT_DAY, "UTC")
    with engine.connect() as conn:
        store = SessionStore(inspect_source(conn, spec.schema, state), cfg.attribution, "UTC")
    prepare(engine, store, day_range(REPORT_DAY - timedelta(days=HISTORY_DAYS), REPORT_DAY))

    def timed(fn) -> float:
        with engine.begin() as conn:
            src = inspect_source(conn, spec.schema, state)
            began = time.perf_counter()
            fn(conn, src, cfg, day)
            return time.perf_counter() - began

    got: dict[str, list[float]] = {"section 8 (today's)": [], "section 12, cold": [], "section 12, warm": []}
    loads = []
    for _ in range(args.repeat):
        got["section 8 (today's)"].append(timed(section8_baselines))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"delete from {quote(state)}.baseline_days")
        got["section 12, cold"].append(timed(daily_baselines))
        got["section 12, warm"].append(timed(daily_baselines))
        loads.append(os.getloadavg()[0])
    print(f"\n`python -m bench.baselines_cost {' '.join(argv if argv is not None else sys.argv[1:])}`: {spec.schema}, {spec.days} days of history, "
          f"load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"| detector | wall s (median of {args.repeat}) | min |\n|---|---|---|")
    for name, xs in got.items():
        print(f"| {name} | {statistics.median(xs):.2f} | {min(xs):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
