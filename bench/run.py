"""`make bench`: the digest's cost against history size, beside the naive full-reload approach.

    python -m bench.run [--months 3,6,12,24] [--leads-per-day 2000] [--web-per-day 200000]
                        [--sends-per-day 5000] [--scale 1.0] [--repeat 1] [--no-naive]

For every history size: the dataset (generated once, kept in schema bench_m<months>_...), the
attribution session store brought up to date once (timed: the one-off build), then each
measurement in a fresh process: the incremental session update of one day, the full digest with
charts, each metric alone, and the naive pandas approach. Results go to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench.datasets import REPORT_DAY, DatasetSpec, ensure
from bench.measure import (
    Run,
    analyze_state,
    prime_sessions,
    rewind_sessions,
    run_worker,
    sessions_built,
)
from bench.report import METRICS, SizeResult, compare, load_results, machine_info, write_report

log = logging.getLogger("bench")
PRIME_DAYS = 7  # sessions primed for the last week: D and its 3-day attribution lookback, with margin


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--months", default="3,6,12,24", help="history sizes, comma-separated")
    p.add_argument("--leads-per-day", type=int, default=2000)
    p.add_argument("--web-per-day", type=int, default=40_000,
                   help="200000 is the volume of issue 4; 24 months of it need ~45 GB of disk")
    p.add_argument("--sends-per-day", type=int, default=5000)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the three daily volumes")
    p.add_argument("--repeat", type=int, default=1, help="digest and naive runs per size (the fastest is kept)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive pandas approach")
    p.add_argument("--full-session-build", action="store_true",
                   help="build the attribution session store from all history (slow) instead of priming a week")
    p.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    p.add_argument("--report-only", action="store_true",
                   help="redraw results.md and the plot from results.json, measuring nothing")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    return p.parse_args(argv)


def _best(runs: list[Run]) -> Run:
    ok = [r for r in runs if r.wall_s is not None and r.na is None]
    return min(ok, key=lambda r: r.wall_s) if ok else runs[-1]


def measure_size(engine, spec: DatasetSpec, tz: str, args) -> SizeResult:
    from db.state import migrate
    from metrics.day import ReportDay

    t0 = time.perf_counter()
    ds = ensure(engine, spec, progress=sys.stderr.isatty())
    log.info("dataset %s ready (%s rows, %.1f GB) in %.0f s", spec.schema, f"{sum(ds.rows.values()):,}",
             ds.bytes / 1e9, time.perf_counter() - t0)
    migrate(engine, spec.state_schema)
    day = ReportDay(REPORT_DAY, tz)
    w = (spec.schema, spec.state_schema, REPORT_DAY, tz)

    def one(kind: str) -> Run:
        # The runs that ingest the day's web rows start from "the morning after D" (see
        # rewind_sessions). The funnel only reads the store for its channel breakdown: in the
        # digest the day's update is paid once, and it is its own column here.
        if kind in ("sessions", "digest", "metric:attribution"):
            rewind_sessions(engine, spec.schema, spec.state_schema, day.start, day.end)
        r = run_worker(engine, kind, *w)
        log.info("%s %s: %s s, %s MB%s", spec.schema, kind, _f(r.wall_s), _f(r.peak_rss_mb),
                 f" ({r.na})" if r.na else "")
        return r

    build = None
    if not sessions_built(engine, spec.state_schema):
        if args.full_session_build:
            build = run_worker(engine, "sessions-full", *w)  # every day of the session store
        else:
            since = day.shifted(-(PRIME_DAYS - 1)).start
            build = Run("sessions prime", wall_s=prime_sessions(engine, spec.schema, spec.state_schema, tz, since))
        log.info("%s sessions store built (%s): %s s", spec.schema, build.kind, _f(build.wall_s))
    analyze_state(engine, spec.state_schema)
    sessions = one("sessions")
    digest = _best([one("digest") for _ in range(args.repeat)])
    metrics = {m: one(f"metric:{m}") for m in METRICS}
    naive = None if args.no_naive else _best([one("naive") for _ in range(args.repeat)])
    match = compare(digest.extra.get("numbers", {}), naive.extra.get("numbers", {})) if naive and not naive.na else {}
    return SizeResult(spec=spec, rows=ds.rows, bytes=ds.bytes, seeded_s=ds.seeded_seconds,
                      sessions_build=build, sessions=sessions, digest=digest, metrics=metrics,
                      naive=naive, match=match)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = _args(argv)
    from db.engine import check_connection, engine_from_settings
    from db.settings import load_settings

    settings = load_settings()
    engine = engine_from_settings(settings)
    check_connection(engine)
    tz = args.timezone or settings.report_timezone
    if args.report_only:
        prev = json.loads((args.out / "results.json").read_text()) if (args.out / "results.json").exists() else {}
        print(write_report(load_results(args.out / "results.json"), machine_info(engine), args.out,
                           (args.out / "command.txt").read_text().strip() if (args.out / "command.txt").exists()
                           else "python -m bench.run") if prev else "no results.json")
        return 0
    months = [int(m) for m in args.months.split(",") if m.strip()]
    vol = [max(1, round(v * args.scale)) for v in (args.leads_per_day, args.web_per_day, args.sends_per_day)]
    args.out.mkdir(parents=True, exist_ok=True)
    machine = machine_info(engine)
    results: list[SizeResult] = []
    for m in months:
        results.append(measure_size(engine, DatasetSpec(m, *vol), tz, args))
        # Written after every size, so a long run that is stopped still leaves its results.
        command = " ".join(["python -m bench.run", *(argv or sys.argv[1:])])
        (args.out / "command.txt").write_text(command + "\n")
        table = write_report(results, machine, args.out, command)
        (args.out / "results.json").write_text(json.dumps([asdict(r) for r in results], default=str, indent=1))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
