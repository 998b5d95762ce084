"""Every SQL statement of a daily digest, timed, with its plan (issue 23 item 1).

    python -m bench.statements --date 2026-11-22 [--scope TAG] [--repeat 3] [--plans FILE] [--top 15]

Runs the digest `salespulse report --date D --format json` runs (every metric and its checked
numbers, no charts) `--repeat` times in one process, on SOURCE_SCHEMA / STATE_SCHEMA /
METRICS_CONFIG of the environment. Each statement is timed on the client (SQLAlchemy's cursor
events) and named by the function of `metrics/` or `reports/` that ran it, so a table can say
which statement of which metric costs what. Printed: the first run's and the median later run's
wall time (the first builds the session days and fills the baseline store; a daily bot's digest
is a later run), then the `--top` names by their median time over the later runs (with one run,
the first), with calls and the slowest single statement.

`--plans FILE`: auto_explain (analyze, buffers, nested statements) on every connection; each
statement's plan that took at least `--plan-ms` is appended to FILE under its name and time.
Timing with plans on costs more (every node is timed): time without it, read plans with it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections import defaultdict
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from db.engine import engine_from_settings
from db.settings import load_settings
from db.state import migrate
from metrics.config import load_config
from metrics.day import ReportDay
from reports.request import report_request
from reports.review import build_report

AUTO_EXPLAIN = ("load 'auto_explain'; set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on; "
                "set auto_explain.log_buffers = on; set auto_explain.log_nested_statements = on; "
                "set auto_explain.log_level = notice; set client_min_messages = notice")


def caller() -> str:
    """module:function of the innermost frame in metrics/ or reports/ (the statement's owner)."""
    for frame in reversed(traceback.extract_stack()):
        path = frame.filename.replace("\\", "/")
        for package in ("/metrics/", "/reports/"):
            if package in path and "/site-packages/" not in path:
                module = path.split(package, 1)[1].removesuffix(".py").replace("/", ".")
                return f"{package.strip('/')}.{module}:{frame.name}"
    return "other"


class Recorder:
    def __init__(self, plans: Path | None, plan_ms: float):
        self.runs: list[dict[str, list[float]]] = []
        self.plans, self.plan_ms = plans, plan_ms

    def attach(self, engine: sa.Engine) -> None:
        @sa.event.listens_for(engine, "connect")
        def connect(dbapi_conn, _record):
            if self.plans:
                dbapi_conn.notices = []
                with dbapi_conn.cursor() as cur:
                    cur.execute(AUTO_EXPLAIN)

        @sa.event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("bench_started", []).append((time.perf_counter(), caller()))

        @sa.event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            started, name = conn.info["bench_started"].pop()
            ms = (time.perf_counter() - started) * 1000
            if self.runs:
                self.runs[-1][name].append(ms)
            notices = getattr(conn.connection.dbapi_connection, "notices", None)
            if self.plans and notices:
                if ms >= self.plan_ms:
                    with self.plans.open("a", encoding="utf-8") as out:
                        out.write(f"\n===== {name}: {ms:.1f} ms\n" + "".join(notices))
                del notices[:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.statements", description=__doc__.split("\n\n")[0])
    p.add_argument("--date", required=True)
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--scope")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--plans", type=Path, help="append auto_explain plans here")
    p.add_argument("--plan-ms", type=float, default=20.0)
    args = p.parse_args(argv)
    settings = load_settings()
    engine = engine_from_settings(settings)
    cfg = load_config(settings.metrics_config)
    migrate(engine, settings.state_schema)
    rec = Recorder(args.plans, args.plan_ms)
    rec.attach(engine)
    req = report_request(ReportDay(date.fromisoformat(args.date), args.timezone), scope=args.scope,
                         source_schema=settings.source_schema, state_schema=settings.state_schema)
    walls = []
    for _ in range(args.repeat):
        rec.runs.append(defaultdict(list))
        began = time.perf_counter()
        build_report(engine, cfg, req, with_charts=False)
        walls.append(time.perf_counter() - began)
    later = rec.runs[1:] or rec.runs
    print(f"digest {args.date} scope={args.scope or '-'} on {settings.source_schema}: first {walls[0]:.2f} s, "
          f"later runs median {statistics.median(walls[1:] or walls):.2f} s ({', '.join(f'{w:.2f}' for w in walls)})")
    names = {n for run in later for n in run}
    rows = []
    for n in names:
        totals = [sum(run.get(n, [])) for run in later]
        rows.append((statistics.median(totals), n, len(later[-1].get(n, [])),
                     max(max(run.get(n, [0])) for run in later), sum(rec.runs[0].get(n, []))))
    print("| statement (caller) | calls | median ms | slowest one ms | first run ms |\n|---|---:|---:|---:|---:|")
    for med, n, calls, slowest, first in sorted(rows, reverse=True)[:args.top]:
        print(f"| {n} | {calls} | {med:.0f} | {slowest:.0f} | {first:.0f} |")
    print(f"| all statements | {sum(r[2] for r in rows)} | {sum(r[0] for r in rows):.0f} | | "
          f"{sum(r[4] for r in rows):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
