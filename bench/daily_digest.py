"""The whole digest on a big history as a daily bot meets it (issue 23): the first report, the
next day's digest, and the daily digest again, each `salespulse report --format json` in a fresh
process, timed from outside (wall, the child's CPU and peak RSS from wait4's rusage).

    python -m bench.daily_digest --schema src180 --state i23big_b --date 2026-11-22 --repeat 3
    python -m bench.daily_digest ... --code /path/to/other/checkout    # the same, another code

Per round, in the state schema `--state` (dropped first; never the source):
1. *first report*: the digest of D-1 on an empty state (sessions, stores and kept days built);
2. *next day*: the digest of D the morning after (its session day, its fresh baseline days);
3. *daily*: the digest of D again, `--repeat` times (the state built: what the issue's target is).
The first round also writes the last daily JSON and text to `--keep` (default bench/results/), so
two codes' outputs can be compared byte for byte. Each line says the load average before it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from db.engine import engine_from_settings
from db.settings import load_settings


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _report(code: Path, env: dict, day: date, fmt: str = "json") -> tuple[dict, str]:
    """One `salespulse report` in a fresh process: wall, CPU and peak RSS of that child alone."""
    load = _load()
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli.main", "report", "--date", str(day), "--format", fmt],
                            cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"report {day} failed in {code}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024), "load": load}, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--schema", required=True, help="the source schema (read only)")
    p.add_argument("--state", required=True, help="a state schema of this bench's own: dropped each round")
    p.add_argument("--date", required=True, type=date.fromisoformat, help="D, the day of the next-day digest")
    p.add_argument("--repeat", type=int, default=3, help="daily digests per round")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--code", type=Path, default=Path.cwd(), help="the checkout whose code runs")
    p.add_argument("--keep", type=Path, default=Path("bench/results"))
    args = p.parse_args(argv)
    if args.state == args.schema:
        raise SystemExit("--state must not be the source schema")
    engine = engine_from_settings(load_settings())
    env = os.environ | {"SOURCE_SCHEMA": args.schema, "STATE_SCHEMA": args.state, "REPORT_TIMEZONE": "UTC"}
    runs: dict[str, list[dict]] = {"first report": [], "next day": [], "daily": []}
    for rnd in range(args.rounds):
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{args.state}" cascade'))
        runs["first report"].append(_report(args.code, env, args.date - timedelta(days=1))[0])
        runs["next day"].append(_report(args.code, env, args.date)[0])
        for _ in range(args.repeat):
            run, out = _report(args.code, env, args.date)
            runs["daily"].append(run)
        if rnd == 0:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / f"daily_{args.state}.json").write_text(out)
            (args.keep / f"daily_{args.state}.txt").write_text(_report(args.code, env, args.date, "text")[1])
    for what, rs in runs.items():
        line = {"what": what, "n": len(rs), **{k: statistics.median(r[k] for r in rs)
                                                 for k in ("wall_s", "cpu_s", "peak_mb")},
                "wall_each": [r["wall_s"] for r in rs], "loads": [r["load"] for r in rs]}
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
