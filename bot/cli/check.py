"""`salespulse check`: is the configured source ready for every metric it enables? Exit 0 yes, 1 no.

A metric the configuration leaves off (reports.readiness: absent tables under `enabled = "auto"`)
does not stop the source from being ready; at least one metric must run.

It reads the source the way a report does (settings, metric configuration, DATA_TIMEZONE), in a
read-only transaction, and prints one line per finding grouped by table, then one per metric.
"""
from __future__ import annotations

import sqlalchemy as sa

from db.engine import DatabaseError, check_connection, engine_from_settings, redact, server_label
from db.settings import Settings
from metrics.config import load_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check the source tables against the data contract (docs/data-contract.md)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args, settings: Settings) -> int:
    from reports.check import run_check
    from reports.serialize import dumps

    cfg = load_config(settings.metrics_config)
    engine = engine_from_settings(settings)
    check_connection(engine)
    try:
        report = run_check(engine, settings.source_schema, cfg, settings.data_timezone)
    except sa.exc.OperationalError as exc:  # the connection dropped mid-check
        raise DatabaseError(f"lost the database during the check: {redact(_first_line(exc))}") from None
    if args.format == "json":
        print(dumps(report.to_json()))
    else:
        print(f"source schema {settings.source_schema} in the {server_label(engine.url)}")
        for line in report.lines():
            print(line)
        print(_summary(report))
    return 0 if report.ok else 1


def _summary(report) -> str:
    off = [m.name for m in report.metrics if m.off]
    if report.ok:
        return "ready: every enabled metric can run" + (f" ({', '.join(off)} off)" if off else "")
    if not any(m.runs for m in report.metrics):
        return "not ready: no metric can run (see above)"
    return "not ready: some metrics cannot run (see above)"


def _first_line(exc: sa.exc.DBAPIError) -> str:
    return (str(exc.orig or exc).strip().splitlines() or [type(exc).__name__])[0]
