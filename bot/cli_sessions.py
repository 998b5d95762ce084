"""`salespulse sessions ...`: the attribution session store, built ahead of reports.

`sessions backfill --since DATE [--until DATE]` builds every day of the range that is not built
yet (DESIGN section 10): chunk by chunk, each committed with its attribution_days rows, so it can
be stopped at any moment and run again. Progress (days, web rows a second) goes to stderr.
Other subcommands (e.g. `sessions build --engine spark|postgres`) join the same group.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from db.settings import Settings, check_timezone

# not bot.cli's UsageError: under `python -m bot.cli` that module is __main__, another class
from reports.request import ReportInputError as UsageError


def add_parser(subparsers) -> None:
    s = subparsers.add_parser("sessions", help="the attribution session store (backfill)")
    sub = s.add_subparsers(dest="sessions_command", required=True)
    b = sub.add_parser("backfill", help="build the missing days of the session store, resumably")
    b.add_argument("--since", required=True, help="first day YYYY-MM-DD (in the report time zone)")
    b.add_argument("--until", help="last day YYYY-MM-DD (default: the day of the newest web event)")
    b.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    b.add_argument("--workers", type=int, default=2, help="parallel database connections (default 2)")
    b.add_argument("--chunk-days", type=int, default=1, help="days per committed chunk (default 1)")
    b.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return {"backfill": backfill}[args.sessions_command](args, settings)


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} '{text}' is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from None


def _status(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def backfill(args: argparse.Namespace, settings: Settings) -> int:
    import sqlalchemy as sa
    from tqdm import tqdm

    from db.engine import check_connection, engine_from_settings
    from db.state import migrate
    from metrics.config import load_config
    from metrics.sessions_backfill import plan_backfill, run_backfill

    tz = check_timezone("--timezone", args.timezone) if args.timezone else settings.report_timezone
    if args.workers < 1 or args.chunk_days < 1:
        raise UsageError("--workers and --chunk-days must be at least 1")
    since = _day(args.since, "--since")
    cfg = load_config(settings.metrics_config).attribution
    engine = engine_from_settings(settings)
    check_connection(engine)
    schema = settings.source_schema
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": f'"{schema}".web_events'}).scalar() is None:
            raise UsageError(f'no table "{schema}".web_events: nothing to build (SOURCE_SCHEMA is {schema})')
        newest = conn.execute(sa.text(f'select max(happened_at)::timestamptz from "{schema}".web_events')).scalar()
    if args.until:
        until = _day(args.until, "--until")
    elif newest is None:
        _status("web_events is empty: nothing to build", args.no_progress)
        return 0
    else:
        from zoneinfo import ZoneInfo

        until = newest.astimezone(ZoneInfo(tz)).date()
    if until < since:
        raise UsageError(f"--until {until} is before --since {since}; give --since on or before it")
    migrate(engine, settings.state_schema)
    _status("identity links and new rows…", args.no_progress)
    began = time.perf_counter()
    plan = plan_backfill(engine, schema, settings.state_schema, cfg, tz, since, until, args.chunk_days)
    _status(f"{len(plan.days)} of {(until - since).days + 1} days to build "
            f"({time.perf_counter() - began:.1f} s to sync)", args.no_progress)
    bar = tqdm(total=len(plan.days), unit="day", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
    started, rows = time.perf_counter(), [0]

    def on_chunk(done) -> None:
        rows[0] += done.rows
        rate = rows[0] / max(time.perf_counter() - started, 1e-9)
        bar.set_postfix_str(f"{rows[0]:,} rows, {rate:,.0f} rows/s, at {done.first}", refresh=False)
        bar.update(done.days)

    try:
        run_backfill(engine, schema, settings.state_schema, cfg, tz, plan, args.workers, on_chunk)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    print(f"built {len(plan.days)} days ({since} .. {until}, {tz}): {rows[0]:,} web rows in {seconds:.1f} s, "
          f"{rows[0] / seconds if seconds > 0 else 0:,.0f} rows/s")
    return 0

