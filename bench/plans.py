"""The plan corpus (issue 23 item 2): every statement of a digest with its executed plan, on
several source shapes and sizes, exclusion on and off, scoped and not.

    python -m bench.plans --date 2026-11-22 --state-prefix i23corpus_st_ \\
        --source seeded:30k:i23corpus_s30k --source seeded:20M:src180 \\
        --source views:250k:shop_src:shop ... [--repeat 3]
    python -m bench.plans --report-only            # the tables again from the results JSON

Each `--source shape:size:schema[:under]` (DATABASE_URL selects the Postgres; the schemas are
read only, the state goes to `<state-prefix><schema>`; `under`: the schema of the tables under
the source's views, bench/shop.py's `--shop`) runs in four variants: `on` (the default
configuration: experiment exclusion on, the whole company), `off` (exclusion off), `scoped`
(`--scope`, default team:north) and `scoped off`; a source without user_tags skips the scoped
two. Per variant: a first digest on a plain engine warms the stores, as a daily bot's are; then
`--repeat` digests (the metrics, then the checked numbers, no charts) on an engine whose every
connection runs auto_explain (bench.plan_capture), each statement filed under the metric that ran
it ("baselines/<metric>" for a metric's series read by the checked numbers). Statements that read
no table of the source or the state (catalog look-ups) are left out. Each statement's time is the
median over the repeats (with per-node timing on, so above its time without auto_explain), its
plan the last run's. Results go to `--out` (JSON, gitignored), the tables to stdout
(bench.plan_table: the flags and their definitions).
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import reports.baselines as report_baselines
from bench.plan_capture import Capture, attach, fingerprint, has_auto_explain, hint
from bench.plan_days import DayRows, days_read
from bench.plan_table import render
from bench.report import machine_info
from db.engine import engine_from_settings
from db.settings import load_settings
from db.state import migrate
from metrics.config import MetricConfig, load_config
from metrics.day import ReportDay
from reports.digest import compute_baselines, compute_metrics, read_source
from reports.request import ReportRequest, parse_report_scope

log = logging.getLogger(__name__)
VARIANTS = ("on", "off", "scoped", "scoped off")
OUT = Path("bench/results/plans.json")


@dataclass(frozen=True)
class Case:
    shape: str
    size: str
    schema: str
    variant: str
    under: tuple[str, ...] = ()  # schemas of the tables under the source's views (the wide table's)


@contextmanager
def named_series(capture: Capture):
    """File each metric's series statements under "baselines/<metric>" while the checked numbers
    read them through reports.baselines.series_of (patched for the run, restored after)."""
    original = report_baselines.series_of

    def wrap(name, fn):
        def series(*args, **kwargs):
            capture.set_stage(f"baselines/{name}")
            try:
                return fn(*args, **kwargs)
            finally:
                capture.set_stage("baselines")
        return series

    report_baselines.series_of = lambda metrics: {n: wrap(n, f) for n, f in original(metrics).items()}
    try:
        yield
    finally:
        report_baselines.series_of = original


def digest(engine, cfg: MetricConfig, req: ReportRequest, capture: Capture) -> None:
    src = read_source(engine, req)
    outcomes = compute_metrics(engine, src, cfg, req, capture.set_stage)
    failed = {n: o.skipped for n, o in outcomes.items() if o.skipped and not o.off}
    if failed:
        log.warning("%s: %s", req.source_schema, failed)
    capture.set_stage("baselines")
    with named_series(capture):
        compute_baselines(engine, src, cfg, req, outcomes)


def measure(case: Case, cfg: MetricConfig, req: ReportRequest, repeat: int,
            new_engine: Callable[[], Engine], capture: Capture | None = None) -> list[dict]:
    """The statements of `repeat` digests of one case, one record per statement (`new_engine`:
    a fresh engine of the database, each call; `capture`'s stage says where a failure was)."""
    capture = capture or Capture()
    capture.phase, warm = "warm-up", new_engine()
    digest(warm, cfg, req, capture)  # the stores as a daily bot's are; no plans: not attached
    warm.dispose()
    capture.phase = "measured"
    engine = new_engine()
    attach(engine, capture)
    runs: list[list[tuple[str, object]]] = []
    for _ in range(repeat):
        capture.plans.clear()
        capture.set_stage("setup")
        digest(engine, cfg, req, capture)
        runs.append(list(capture.plans))
    schemas = (req.source_schema, req.state_schema, *case.under)
    days = DayRows(schemas)
    times: dict[tuple, list[float]] = defaultdict(list)
    for plans in runs:
        for key, group in grouped(plans, schemas).items():
            times[key].append(sum(st.ms for st in group))
    out = []
    with engine.connect() as conn:
        for (stage, fp), group in grouped(runs[-1], schemas).items():
            stats = max(group, key=lambda st: st.largest.work)  # the occurrence the flags judge
            if not [r for r in stats.relations if _ours(conn, r, schemas)]:
                continue
            first, last = days_read(stats.query, req.day.day)
            out.append({
                **asdict(case), "stage": stage, "fingerprint": fp, "count": len(group),
                "hint": hint(stats), "ms": statistics.median(times[(stage, fp)]), "runs": len(times[(stage, fp)]),
                "rows": stats.rows, "work": sum(st.work for st in group), "largest": asdict(stats.largest),
                "relations": list(stats.relations),
                "day_rows": days.rows(conn, stats.relations, req.day.day, req.day.day),
                "read_first": first.isoformat(), "read_last": last.isoformat(),
                "read_rows": days.rows(conn, stats.relations, first, last),
                "query": stats.query[:4000],
            })
    engine.dispose()
    return out


def limited(settings, seconds: int) -> Engine:
    """An engine whose every statement is cancelled after `seconds` (a quadratic plan at 20M rows
    runs for hours)."""
    engine = engine_from_settings(settings)

    @sa.event.listens_for(engine, "connect")
    def _timeout(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"set statement_timeout = {int(seconds) * 1000}")
        dbapi_conn.commit()

    return engine


def grouped(plans, schemas) -> dict[tuple[str, str], list]:
    """The plans of one digest by (stage, statement): a statement run once per pipeline or per
    stored day is one entry, its times summed."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for stage, stats in plans:
        out[(stage, fingerprint(stats.query, schemas))].append(stats)
    return out


def _ours(conn, relation: str, schemas) -> bool:
    return bool(conn.exec_driver_sql(
        "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relname = %(r)s and n.nspname = any(%(s)s)", {"r": relation, "s": list(schemas)}).first())


def merged(results: list[dict]) -> dict:
    """Several runs' results as one (each size of a shape in one run, or a size run apart with
    another --repeat): their records and failures in order, every command, the last load."""
    return results[0] | {"argvs": [r["argv"] for r in results], "load": results[-1]["load"],
                         "records": [x for r in results for x in r["records"]],
                         "failures": [x for r in results for x in r.get("failures", [])]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.plans", description=__doc__.split("\n\n")[0])
    p.add_argument("--date", help="report day YYYY-MM-DD (UTC)")
    p.add_argument("--source", action="append", default=[], help="shape:size:schema, smallest size first")
    p.add_argument("--state-prefix", default="plans_")
    p.add_argument("--scope", default="team:north")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=int, default=600, help="statement_timeout, seconds: a case past it is a failure")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--from", dest="inputs", type=Path, action="append",
                   help="with --report-only: results JSON to render together (default: --out)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.report_only:
        print(render(merged([json.loads(f.read_text()) for f in args.inputs or [args.out]])))
        return 0
    settings = load_settings()
    engine = engine_from_settings(settings)
    if not has_auto_explain(engine):
        print("bench.plans: this Postgres server cannot LOAD 'auto_explain', which the corpus reads "
              "every plan through; point DATABASE_URL at a server with Postgres' contrib modules "
              "(Debian's postgresql has them; the embedded server does not)", file=sys.stderr)
        return 2
    base = load_config(settings.metrics_config)
    configs = {"on": base, "off": replace(base, exclude_experiments=False)}
    day = ReportDay(date.fromisoformat(args.date), "UTC")
    records, failures, began = [], [], time.time()
    result = {"date": args.date, "argv": sys.argv[1:], "machine": machine_info(engine), "started": began}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for spec in args.source:
        shape, size, schema, *under = spec.split(":")
        state = f"{args.state_prefix}{schema}"
        migrate(engine, state)
        for variant in args.variants.split(","):
            scoped = variant.startswith("scoped")
            req = ReportRequest(day, scope=parse_report_scope(args.scope) if scoped else None,
                                source_schema=schema, state_schema=state)
            if scoped and not read_source(engine, replace(req, scope=None)).has("user_tags"):
                continue
            t0, load = time.perf_counter(), psutil.getloadavg()[0]
            cfg = configs["off" if variant.endswith("off") else "on"]
            case, where = Case(shape, size, schema, variant, tuple(under)), Capture()
            try:
                found = measure(case, cfg, req, args.repeat, lambda: limited(settings, args.timeout), where)
            except sa.exc.OperationalError as exc:  # the statement timeout: the case is a finding, not a crash
                reason = str(exc.orig).strip().splitlines()[0]
                failures.append(asdict(case) | {"stage": f"{where.phase}: {where.stage}", "error": reason,
                                                "seconds": round(time.perf_counter() - t0)})
                print(f"{shape} {size} {variant}: failed in {where.phase}: {where.stage}: {reason}", file=sys.stderr)
                found = []
            print(f"{shape} {size} {variant}: {len(found)} statements, {time.perf_counter() - t0:.0f} s, "
                  f"load {load:.1f}", file=sys.stderr)
            records.extend(found)
            # written after every case: a long corpus interrupted keeps what it measured
            result |= {"load": list(psutil.getloadavg()), "records": records, "failures": failures}
            args.out.write_text(json.dumps(result, indent=1, default=str))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
