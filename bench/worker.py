"""One measurement in its own process, so that its peak RSS is that run's alone.

    python -m bench.worker KIND SCHEMA STATE_SCHEMA DAY TZ

KIND is `digest` (reports.digest.build_digest with charts), `metric:<name>` (one metric's
compute), `sessions` (the incremental attribution-session update) or `naive` (bench.naive).
The last stdout line is one JSON object: wall and CPU seconds of the measured call (imports and
connecting excluded), the process's peak RSS (imports included: that is what the process costs),
and the numbers the parent compares between the digest and the naive approach.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("RETENTIONEERING_NO_TRACK", "1")


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage: ru_maxrss survives exec, so a child of a big
    parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _trace_queries(engine) -> list[tuple[float, str]]:
    """Every statement's wall time on this engine, so the report can say which query dominates."""
    from sqlalchemy import event

    seen: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["bench_t0"].pop()
        seen.append((time.perf_counter() - t0, " ".join(statement.split())))

    return seen


def _auto_explain(engine, min_ms: int, plans: list[str]) -> None:
    """Diagnostics (BENCH_EXPLAIN_MS): every statement slower than min_ms gets its
    EXPLAIN (ANALYZE, BUFFERS) plan back as a NOTICE, via auto_explain (LOAD needs a superuser).
    Not for measurements: ANALYZE timing slows queries down."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, record):
        cur = dbapi_conn.cursor()
        cur.execute(
            "load 'auto_explain'; set auto_explain.log_min_duration = %s; set auto_explain.log_analyze = on; "
            "set auto_explain.log_buffers = on; set auto_explain.log_nested_statements = on; "
            "set auto_explain.log_level = notice; set client_min_messages = notice", (min_ms,))
        cur.close()
        dbapi_conn.commit()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        raw = conn.connection.dbapi_connection
        plans.extend(n for n in raw.notices if "duration" in n)
        raw.notices.clear()


def _top(seen: list[tuple[float, str]], n: int = 5) -> list[dict]:
    return [{"s": round(t, 3), "sql": sql[:300]} for t, sql in sorted(seen, reverse=True)[:n]]


def _comparable(metrics: dict) -> dict:
    """The subset of the digest JSON that bench.naive also computes."""
    out: dict = {}
    np_ = metrics.get("new_payers")
    if np_:
        keys = ("new_payers", "new_payer_revenue", "payments", "paying_users", "revenue")
        out["new_payers"] = {
            "D": {k: np_[k] for k in keys},
            "D-1": {k: np_["previous_day"][k] for k in keys},
            "D-7": {k: np_["week_ago"][k] for k in keys},
        }
    hg = metrics.get("hanging")
    if hg:
        out["hanging"] = {
            p["name"]: {k: p[k] for k in ("hanging", "open_within_sla", "breached_today")}
            for p in hg["pipelines"]
        }
    fn = metrics.get("funnel")
    if fn:
        out["funnel"] = {
            s["event"]: {"users": s["users"], "median_hours_from_start": s["median_hours_from_start"]}
            for s in fn["steps"]
        }
    return out


def _run(kind: str, schema: str, state_schema: str, day: date, tz: str) -> dict:
    from db.engine import engine_from_settings
    from db.settings import load_settings
    from db.source import inspect_source
    from metrics.config import load_config
    from metrics.day import ReportDay

    settings = load_settings()
    cfg = load_config(settings.metrics_config)
    engine = engine_from_settings(settings)
    rday = ReportDay(day, tz)
    out: dict = {"kind": kind}
    if kind in ("digest", "metric:funnel"):
        # A running bot imports these once; time it apart from the day's work (one-shot CLI pays it).
        t = time.perf_counter()
        import sklearn.cluster  # the funnel's clustering (metrics.clusters)
        import sklearn.preprocessing  # noqa: F401
        out["import_s"] = round(time.perf_counter() - t, 2)
    plans: list[str] = []
    if os.environ.get("BENCH_EXPLAIN_MS"):
        _auto_explain(engine, int(os.environ["BENCH_EXPLAIN_MS"]), plans)
    with engine.connect() as conn:  # connect before the clock starts, as a running bot would be
        conn.exec_driver_sql("select 1")
    seen = _trace_queries(engine)
    if kind == "digest":
        import charts  # imported before timing: a running bot has it loaded
        from reports.digest import build_digest
        from reports.request import ReportRequest
        from reports.serialize import jsonable

        render, chart_s = charts.render_charts, [0.0]

        def timed_render(*a, **k):  # build_digest imports it lazily, so patching the module works
            t = time.perf_counter()
            try:
                return list(render(*a, **k))
            finally:
                chart_s[0] += time.perf_counter() - t

        charts.render_charts = timed_render

        w0, c0 = time.perf_counter(), time.process_time()
        req = ReportRequest(rday, settings.locale, source_schema=schema, state_schema=state_schema)
        digest = build_digest(engine, cfg, req)
        w1, c1 = time.perf_counter(), time.process_time()
        metrics = {n: jsonable(o.result) if o.result is not None else None for n, o in digest.outcomes.items()}
        out["skipped"] = {n: o.skipped for n, o in digest.outcomes.items() if o.skipped}
        out["charts"] = len(digest.charts)
        out["charts_s"] = round(chart_s[0], 3)
        out["numbers"] = _comparable(metrics)
    elif kind.startswith("metric:"):
        from metrics import attribution
        from metrics.sessions.backfill import prepare
        from reports.registry import REGISTRY

        spec = REGISTRY[kind.split(":", 1)[1]]
        with engine.connect() as conn:
            src = inspect_source(conn, schema, state_schema)
            conn.commit()
        if spec.name in ("attribution", "funnel") and src.has(*attribution.TABLES):
            # the digest's sessions stage, untimed: the metric alone reads a store up to date
            prepare(engine, attribution.store(src, cfg, rday),
                    attribution.window_days(cfg, rday) if spec.name == "attribution" else [])
        with engine.connect() as conn:
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                with conn.begin():
                    spec.compute(conn, src, cfg, rday)
            except NotImplementedError:
                out["na"] = "NotImplementedError"
            except Exception as exc:  # noqa: BLE001 - a failing metric is a finding, not a crash
                out["na"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            w1, c1 = time.perf_counter(), time.process_time()
    elif kind in ("sessions", "sessions-full"):
        from metrics.sessions.store import sync_scope, update_sessions

        # "sessions": the daily update (new rows on built days); "-full": every day of history
        update = update_sessions if kind == "sessions-full" else sync_scope

        with engine.connect() as conn:
            src = inspect_source(conn, schema, state_schema)
            conn.commit()
            w0, c0 = time.perf_counter(), time.process_time()
            with conn.begin():
                update(conn, src, cfg.attribution, tz)
            w1, c1 = time.perf_counter(), time.process_time()
    elif kind == "naive":
        from bench.naive import compute_naive

        w0, c0 = time.perf_counter(), time.process_time()
        numbers, loaded = compute_naive(engine, schema, cfg, rday)
        w1, c1 = time.perf_counter(), time.process_time()
        out["numbers"], out["loaded_rows"] = numbers, loaded
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    out["top_queries"] = _top(seen)
    if plans:
        sys.stderr.write("\n\n".join(plans) + "\n")
    out["sql_s"] = round(sum(t for t, _ in seen), 3)
    engine.dispose()  # close the backends: Postgres flushes their table statistics on exit
    out |= {"wall_s": w1 - w0, "cpu_s": c1 - c0, "peak_rss_mb": _peak_rss_mb()}
    return out


def main(argv: list[str]) -> int:
    kind, schema, state_schema, day, tz = argv
    result = _run(kind, schema, state_schema, date.fromisoformat(day), tz)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
