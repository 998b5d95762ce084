"""A month of sessions on Postgres and on Spark, on the same data, in one run (issue 14).

    python -m bench.engines                                  # 1 month at the bench's volume (40k web rows a day)
    python -m bench.engines --web-per-day 4000 --leads-per-day 200   # a quick check

The dataset is bench.datasets' (`db.seed.seed`, generated once and kept in its schema); its web
events are also exported once as Parquet (bench/results/lake_<schema>/). Then, each in a fresh
process and into an empty state schema of its own, `salespulse sessions build` over the month:
`--engine postgres`, `--engine spark --master local[2]` over JDBC, and the same from Parquet. The
build time is the one the command prints (reading, deriving and writing the store; Spark's JVM
start is the wall-time column). Each Spark store is compared row for row with the Postgres one.
Every line records the load average: the machine's 2 cores are shared and the numbers are noisy.
Results: a markdown table on stdout, JSON lines appended to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench.datasets import REPORT_DAY, DatasetSpec, ensure
from db.engine import make_engine

RESULTS = Path(__file__).resolve().parent / "results"
LINE = re.compile(r"built (\d+) days .* on (.+?): ([\d,]+) sessions of ([\d,]+) web rows in ([\d.]+) s")
TABLES = ("attribution_sessions", "attribution_links", "attribution_days")


def _args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--months", type=int, default=1)
    p.add_argument("--leads-per-day", type=int, default=2000)
    p.add_argument("--web-per-day", type=int, default=40_000)
    p.add_argument("--sends-per-day", type=int, default=5000)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--timezone", default="Europe/Moscow")
    p.add_argument("--engines", default="postgres,spark-jdbc,spark-parquet")
    p.add_argument("--out", type=Path, default=RESULTS / "engines.jsonl")
    return p.parse_args(argv)


def _run(kind: str, env: dict, args, spec: DatasetSpec, lake: Path) -> dict:
    cmd = [sys.executable, "-m", "bot.cli.main", "sessions", "build", "--since", spec.start.isoformat(),
           "--until", REPORT_DAY.isoformat(), "--timezone", args.timezone, "--no-progress"]
    if kind.startswith("spark"):
        cmd += ["--engine", "spark", "--master", args.master]
        if kind == "spark-parquet":
            cmd += ["--parquet", str(lake)]
    load = os.getloadavg()[0]
    began = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - began
    m = LINE.search(proc.stdout)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"{kind} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    rows, seconds = int(m.group(4).replace(",", "")), float(m.group(5))
    return {"engine": kind, "on": m.group(2), "days": int(m.group(1)), "sessions": int(m.group(3).replace(",", "")),
            "rows": rows, "seconds": seconds, "wall_seconds": round(wall, 1), "rows_per_s": round(rows / seconds),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2), "command": " ".join(cmd[3:])}


def _differences(engine, a: str, b: str) -> int:
    """Rows in one store and not the other (sessions, links, built days), scope-wide."""
    cols = {"attribution_sessions": "scope, skey, user_id, local_day, first_event_id, started_at, ended_at, events, "
                                    "ch_source, ch_medium, utm_campaign",
            "attribution_links": "scope, anonymous_id, user_id, linked_at, row_id",
            "attribution_days": "scope, local_day"}
    n = 0
    with engine.connect() as conn:
        for t in TABLES:
            x, y = f'select {cols[t]} from "{a}".{t}', f'select {cols[t]} from "{b}".{t}'
            n += conn.execute(sa.text(f"select count(*) from (({x} except all {y}) union all ({y} except all {x})) d"
                                      )).scalar_one()
    return n


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    from db.engine import database_url
    from db.parquet_export import export_web_events
    from db.settings import load_settings

    settings = load_settings()
    url = database_url(settings)
    engine = make_engine(url, "UTC")
    spec = DatasetSpec(args.months, args.leads_per_day, args.web_per_day, args.sends_per_day)
    data = ensure(engine, spec)
    lake = RESULTS / f"lake_{spec.schema}"
    if not (lake / "_complete").exists():
        stats = export_web_events(engine, spec.schema, lake)
        (lake / "_complete").write_text(f"{stats.rows}\n")
    results, states = [], {}
    for kind in args.engines.split(","):
        state = f"{spec.schema}_{kind.replace('-', '_')}"
        with engine.begin() as conn:
            conn.exec_driver_sql(f'drop schema if exists "{state}" cascade')
        env = os.environ | {"DATABASE_URL": url, "SOURCE_SCHEMA": spec.schema, "STATE_SCHEMA": state}
        r = _run(kind, env, args, spec, lake)
        states[kind] = state
        if kind != "postgres" and "postgres" in states:
            r["differences_vs_postgres"] = _differences(engine, states["postgres"], state)
        r |= {"schema": spec.schema, "web_rows_total": data.rows.get("web_events"), "cpus": os.cpu_count()}
        results.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    print(f"\n{spec.schema}: {data.rows.get('web_events'):,} web rows over {spec.days} days, "
          f"{args.timezone}, {os.cpu_count()} cores (shared)\n")
    print("| engine | build s | wall s | web rows/s | sessions | vs postgres | load |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        diff = r.get("differences_vs_postgres")
        print(f"| {r['on']} | {r['seconds']:.1f} | {r['wall_seconds']:.1f} | {r['rows_per_s']:,} | {r['sessions']:,} "
              f"| {'-' if diff is None else ('equal' if diff == 0 else f'{diff} rows differ')} "
              f"| {r['load_before']}-{r['load_after']} |")
    return 0 if all(r.get("differences_vs_postgres", 0) == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
