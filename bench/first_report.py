"""The first report after connecting, and the session backfill, against history size (issue 11).

    python -m bench.first_report --schema src180 --date 2026-11-22 --repeat 2 --backfill-days 14
    python -m bench.first_report --schema src90 --date 2026-11-22 --backfill-days 0 --backfill-all

Per source schema (seeded beforehand with `salespulse seed`, see bench/README.md):
1. the first `salespulse report --date D --metric attribution --format json`, in a fresh process
   from an empty state schema (`<schema>_fr`), wall time, `--repeat` times;
2. `salespulse sessions backfill` over the `--backfill-days` days before the report's window
   (or every day with `--backfill-all`), its web rows a second as the command prints them, and
   the machine's busy CPU-seconds over it: the CPU-microseconds a web row costs, and the rate all
   cores would reach at that cost with none idle (`ceiling_rows_per_s`);
3. with `--backfill-all`, the report again on the complete store: its attribution must equal the
   first report's (and `--reference FILE`, e.g. the JSON of the pre-issue-11 code's full build,
   is compared too).
Every line says the load average, since the 2 cores are shared. Results are appended as JSON
lines to `--out` (default bench/results/first_report.jsonl) and printed as a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa

from db.engine import engine_from_settings
from db.settings import load_settings


def _env(schema: str, state: str) -> dict:
    return os.environ | {"SOURCE_SCHEMA": schema, "STATE_SCHEMA": state, "REPORT_TIMEZONE": "UTC"}


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _cpu() -> tuple[float, float]:
    """Machine-wide busy and idle CPU-seconds so far. The backfill's work is split between its own
    process and Postgres's backends; on a shared machine its wall time varies by +-10% from run to
    run, and the busy CPU-seconds a web row costs say what the cores could reach (cores / cost)."""
    t = psutil.cpu_times()
    return sum(getattr(t, f) for f in ("user", "nice", "system", "irq", "softirq", "steal")), t.idle + t.iowait


def _cli(args: list[str], schema: str, state: str) -> tuple[float, str, str]:
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bot.cli.main", *args], env=_env(schema, state),
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"salespulse {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return seconds, proc.stdout, proc.stderr


def dataset(engine, schema: str) -> dict:
    with engine.connect() as conn:
        rows, first, last = conn.execute(sa.text(
            f'select count(*), min(happened_at)::date, max(happened_at)::date from "{schema}".web_events')).one()
    days = (last - first).days + 1
    return {"schema": schema, "web_rows": rows, "days": days, "first_day": str(first), "last_day": str(last),
            "rows_per_day": round(rows / days)}


def first_report(engine, schema: str, day: date) -> dict:
    state = f"{schema}_fr"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema if exists "{state}" cascade')
    load = _load()
    seconds, out, err = _cli(["report", "--date", str(day), "--metric", "attribution", "--format", "json"],
                             schema, state)
    stages = [s for s in ("sessions…", "attribution…") if s in err]
    return {"what": "first report", "seconds": round(seconds, 1), "load": load, "stages_shown": stages,
            "attribution": json.loads(out)["metrics"]["attribution"]}


def backfill(schema: str, since: date, until: date) -> dict:
    load, (busy0, idle0) = _load(), _cpu()
    seconds, out, _ = _cli(["sessions", "backfill", "--since", str(since), "--until", str(until), "--no-progress"],
                           schema, f"{schema}_fr")
    m = re.search(r"built (\d+) days .*?: ([\d,]+) web rows in ([\d.]+) s, ([\d,]+) rows/s", out)
    busy, idle = (b - a for a, b in zip((busy0, idle0), _cpu()))
    if not m:
        raise SystemExit(f"unexpected backfill output: {out}")
    rows = int(m[2].replace(",", ""))
    return {"what": "backfill", "days": int(m[1]), "rows": rows,
            "seconds": float(m[3]), "rows_per_s": int(m[4].replace(",", "")), "wall": round(seconds, 1),
            "load": load, "busy_cpu_s": round(busy, 1), "idle_cpu_s": round(idle, 1),
            "cpu_us_per_row": round(busy / rows * 1e6, 2) if rows else None,
            "ceiling_rows_per_s": round(psutil.cpu_count() * rows / busy) if busy else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--schema", required=True)
    p.add_argument("--date", required=True, type=date.fromisoformat, help="the report day (the data's last)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--backfill-days", type=int, default=14)
    p.add_argument("--backfill-all", action="store_true")
    p.add_argument("--reference", type=Path, help="a report JSON whose attribution must be equal")
    p.add_argument("--out", type=Path, default=Path("bench/results/first_report.jsonl"))
    args = p.parse_args(argv)
    engine = engine_from_settings(load_settings())
    results = [dataset(engine, args.schema) | {"what": "dataset"}]
    firsts = [first_report(engine, args.schema, args.date) for _ in range(args.repeat)]
    results += [{k: v for k, v in f.items() if k != "attribution"} for f in firsts]
    window_start = args.date - timedelta(days=3)  # the default 3-day lookback (docs/metrics.md)
    if args.backfill_all or args.backfill_days:
        since = date.fromisoformat(results[0]["first_day"]) if args.backfill_all else window_start - timedelta(days=args.backfill_days)
        results.append(backfill(args.schema, since, window_start - timedelta(days=1)))
    if args.backfill_all:
        _, out, _ = _cli(["report", "--date", str(args.date), "--metric", "attribution", "--format", "json"],
                         args.schema, f"{args.schema}_fr")
        complete = json.loads(out)["metrics"]["attribution"]
        results.append({"what": "first report == report on the complete store",
                        "equal": all(f["attribution"] == complete for f in firsts)})
    if args.reference:
        ref = json.loads(args.reference.read_text())["metrics"]["attribution"]
        results.append({"what": f"first report == {args.reference.name}",
                        "equal": all(f["attribution"] == ref for f in firsts)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        for r in results:
            f.write(json.dumps(r | {"schema": args.schema}) + "\n")
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
