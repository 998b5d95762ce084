"""What the plan costs a digest, and what a week or a month in review costs (issue 26).

    salespulse seed --users 4000 --days 400 --start 2025-09-12 --targets     # SOURCE_SCHEMA, once
    python -m bench.plan --date 2026-10-15 [--repeat 3]

Timed on the seeded company, each the fastest of `--repeat` (the machine is shared: the minimum
is the least disturbed run), charts left out:
- the daily digest's checked numbers (reports.digest.compute_baselines) and its pace
  (reports.plan.compute_pace: the plans of D's week and month, each number's series read through
  the baseline store and projected), the two after a first digest warmed the stores, as a daily
  bot's are;
- the month in review of D's previous month and the week in review of D's previous week
  (reports.review.build_review): the first run of each (it builds the session days of the
  periods compared, a year earlier included, when the store lacks them), then warm.
Prints a markdown table with the command and the machine.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from datetime import date

from bench.report import machine_info
from db.engine import engine_from_settings
from db.settings import load_settings
from db.state import migrate
from metrics.config import load_config
from metrics.day import ReportDay
from metrics.periods import last_complete
from reports.digest import compute_baselines, compute_metrics, read_source
from reports.plan import compute_pace
from reports.request import ReportRequest
from reports.review import build_review


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.plan", description=__doc__.split("\n\n")[0])
    p.add_argument("--date", required=True, help="report day YYYY-MM-DD")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    engine = engine_from_settings(settings)
    cfg = load_config(settings.metrics_config)
    day = ReportDay(date.fromisoformat(args.date), args.timezone)
    migrate(engine, settings.state_schema)
    req = ReportRequest(day, source_schema=settings.source_schema, state_schema=settings.state_schema)
    src = read_source(engine, req)

    t0 = time.perf_counter()
    outcomes = compute_metrics(engine, src, cfg, req)  # a first digest: the stores as a daily bot's
    compute_baselines(engine, src, cfg, req, outcomes)
    warm_up = time.perf_counter() - t0
    ran = [n for n, o in outcomes.items() if o.result is not None]
    rows = [("daily digest: checked numbers", *_best(lambda: compute_baselines(engine, src, cfg, req, outcomes),
                                                     args.repeat)),
            ("daily digest: pace", *_best(lambda: compute_pace(engine, src, cfg, req, ran), args.repeat))]
    plans = len(rows[1][2])
    for kind in ("month", "week"):
        period = last_complete(kind, day.day)
        ask = replace(ReportRequest(ReportDay(period.end, args.timezone), source_schema=settings.source_schema,
                                    state_schema=settings.state_schema), period=kind)
        rows.append((f"{kind} in review, first run", *_best(lambda a=ask: build_review(engine, cfg, a, with_charts=False),
                                                             1)))
        rows.append((f"{kind} in review, warm", *_best(lambda a=ask: build_review(engine, cfg, a, with_charts=False),
                                                        args.repeat)))
    m = machine_info(engine)
    lines = [
        (f"`python -m bench.plan --date {args.date} --timezone {args.timezone} --repeat {args.repeat}` on schema "
         f"`{settings.source_schema}` ({plans} plans on D; a first digest warmed the stores in {warm_up:.1f} s); "
         f"{m['cpus']} CPUs ({m['cpu']}, shared with other work: noisy), {m['ram_gb']} GB RAM, {m['postgres']}. "
         f"Wall seconds, fastest of the runs."),
        "",
        "| what | seconds |",
        "|---|---:|",
        *(f"| {name} | {wall:.2f} |" for name, wall, _ in rows),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
