"""The `salespulse` command: demo, run, report, seed.

Every expected failure (bad setting, bad configuration, bad date, unreachable database) ends as
one line on stderr and a non-zero exit; a traceback means a bug.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli import alerts as cli_alerts
from bot.cli import check as cli_check
from bot.cli import period as cli_period
from bot.cli import sessions as cli_sessions
from bot.cli.progress import digest_progress
from bot.cli.usage import UsageError
from bot.ops.logs import install_redaction, setup_logging
from db.engine import DatabaseError, check_connection, engine_from_settings, redact
from db.settings import Settings, SettingsError, check_timezone, load_settings
from db.state import migrate
from metrics.config import ConfigError, load_config
from metrics.day import ReportDay
from reports.registry import names as metric_names
from reports.registry import register_folder
from reports.request import ReportInputError, parse_date, parse_metric, report_request

log = logging.getLogger("salespulse")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("salespulse")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salespulse", description="Sales numbers from Postgres to Telegram.")
    p.add_argument("--version", action="version", version=f"salespulse {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("demo", help="embedded Postgres + demo data + a digest in ./out (and the bot when a token is set)")
    sub.add_parser("run", help="run the Telegram bot")
    sub.add_parser("health", help="ask the running bot's /healthz (METRICS_PORT): exit 0 healthy, 1 not")

    r = sub.add_parser("report", help="compute the digest for one day")
    r.add_argument("--date", default="yesterday", help="YYYY-MM-DD, today or yesterday (default)")
    r.add_argument("--metric", action="append", help=f"one of {', '.join(metric_names())}; repeatable; default all")
    r.add_argument("--format", choices=("json", "text", "png"), default="text")
    r.add_argument("--out", type=Path, help="directory for --format png (default OUT_DIR or ./out)")
    r.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    r.add_argument("--scope", help="only the users with this tag, or tags joined by & ('team:north & region:msk')")
    r.add_argument("--stuck-leads", action="store_true",
                   help="print the stuck-lead list (pipeline, user_id, owner, since, age_hours) as CSV instead")
    cli_period.add_arguments(r)

    s = sub.add_parser("seed", help="load deterministic demo data")
    s.add_argument("--users", type=int, default=2000)
    s.add_argument("--days", type=int, default=60)
    s.add_argument("--start", help="first day YYYY-MM-DD (default: so that the data ends yesterday)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--targets", action="store_true",
                   help="also add a plausible plan of the seeded months and weeks (the optional targets table)")
    s.add_argument("--parquet", type=Path, metavar="DIR",
                   help="then write all web events as Parquet files into DIR (the Spark build's lake input)")
    s.add_argument("--parquet-only", action="store_true",
                   help="with --parquet: seed nothing, export the web events already there (e.g. the demo's)")
    cli_check.add_parser(sub)
    cli_sessions.add_parser(sub)
    cli_alerts.add_parser(sub)
    return p


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def cmd_report(args, settings: Settings) -> int:
    tz = check_timezone("--timezone", args.timezone) if args.timezone else settings.report_timezone
    if args.period:  # the week or month in review, named by its last day
        req = cli_period.request(args, settings, tz, today_in(tz))
        day, names = req.day.day, ()
    else:
        day = parse_date(args.date, today_in(tz))
        names = tuple(dict.fromkeys(parse_metric(m) for m in args.metric)) if args.metric else metric_names()
        req = report_request(ReportDay(day, tz), locale=settings.locale, scope=args.scope, metrics=names,
                             source_schema=settings.source_schema, state_schema=settings.state_schema)
    cfg = load_config(settings.metrics_config)
    engine = engine_from_settings(settings)
    check_connection(engine)

    from reports.review import build_report
    from reports.serialize import dumps

    migrate(engine, settings.state_schema)
    if args.stuck_leads:
        from reports.stuck_leads import stuck_leads_csv

        print(stuck_leads_csv(engine, cfg, req), end="")
        return 0
    with digest_progress(names, args.format == "png") as progress:
        digest = build_report(engine, cfg, req, with_charts=args.format == "png", progress=progress)
    if args.format == "json":
        print(dumps(digest.to_json()))
    elif args.format == "text":
        print(digest.text)
    else:
        out = write_digest(digest, Path(args.out or settings.out_dir) / (args.period or ""))
        print(f"{args.period or 'digest'} for {day:%Y-%m-%d} written to {out}")
    return 0


def write_digest(digest, out_dir: Path) -> Path:
    from reports.serialize import dumps

    out = Path(out_dir) / f"{digest.report_date:%Y-%m-%d}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.txt").write_text(digest.text + "\n", encoding="utf-8")
    (out / "digest.json").write_text(dumps(digest.to_json()) + "\n", encoding="utf-8")
    if digest.csv:
        (out / "digest.csv").write_text(digest.csv, encoding="utf-8")
    for chart in digest.charts:
        (out / f"{chart.name}.png").write_bytes(chart.png)
    return out


def cmd_seed(args, settings: Settings) -> int:
    from db.seed import seed

    if args.parquet_only and not args.parquet:
        raise UsageError("--parquet-only needs --parquet DIR, e.g. --parquet ./lake/web_events")
    if args.users < 1 or args.days < 1:
        raise UsageError("--users and --days must be at least 1")
    if args.parquet_only:
        engine = engine_from_settings(settings)
        check_connection(engine)
        return _export_parquet(engine, settings, args.parquet)
    tz = settings.report_timezone
    start = (
        parse_date(args.start, date.max - timedelta(days=1)) if args.start
        else today_in(tz) - timedelta(days=args.days)
    )
    engine = engine_from_settings(settings)
    check_connection(engine)
    stats = seed(engine, settings.source_schema, users=args.users, days=args.days, start=start,
                 seed=args.seed, progress=not args.no_progress)
    print(stats.summary())
    if args.targets:
        from db.seed_targets import add_targets

        print(f"planned: {add_targets(engine, settings.source_schema, start, args.days, args.seed):,} targets rows")
    return _export_parquet(engine, settings, args.parquet) if args.parquet else 0


def _export_parquet(engine, settings: Settings, out: Path) -> int:
    from db.parquet_export import export_web_events

    cli_sessions.need_web_events(engine, settings.source_schema, " to export")
    try:
        stats = export_web_events(engine, settings.source_schema, out)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {stats.rows:,} web events to {out} ({stats.files} Parquet file(s))")
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from db.seed import seed, source_is_empty
    from db.source import create_source_tables
    from reports.digest import build_digest

    cfg = load_config(settings.metrics_config)
    engine = engine_from_settings(settings)
    check_connection(engine)
    tz = settings.report_timezone
    yesterday = today_in(tz) - timedelta(days=1)
    with engine.begin() as conn:
        create_source_tables(conn, settings.source_schema)
    if source_is_empty(engine, settings.source_schema):
        print("empty database: loading demo data (3,000 users, 60 days)…")
        seed(engine, settings.source_schema, users=3000, days=60, start=yesterday - timedelta(days=59), seed=42)
    migrate(engine, settings.state_schema)
    digest = build_digest(engine, cfg, report_request(
        ReportDay(yesterday, tz), locale=settings.locale, source_schema=settings.source_schema,
        state_schema=settings.state_schema))
    out = write_digest(digest, settings.out_dir)
    print(digest.text)
    print(f"\nThe digest for {yesterday:%Y-%m-%d} is in {out.resolve()} (digest.txt, digest.json, *.png)")
    if settings.telegram_bot_token:
        start_bot(settings, cfg, engine)
    else:
        print("Set TELEGRAM_BOT_TOKEN (and ADMIN_USER_IDS) in .env to run the bot as well.")
    return 0


def start_bot(settings: Settings, cfg, engine) -> None:
    """Run the bot; a token the server rejects or an unreachable Bot API is one clear line."""
    from telegram.error import InvalidToken, NetworkError

    from bot.ops.runner import run_bot

    server = settings.telegram_api_base_url or "Telegram"
    try:
        run_bot(settings, cfg, engine)
    except InvalidToken:
        raise UsageError(
            f"TELEGRAM_BOT_TOKEN was rejected by {server}; copy the token from @BotFather "
            "(the value is not shown)"
        ) from None
    except NetworkError as exc:
        raise UsageError(
            f"cannot reach the Bot API at {server} ({type(exc).__name__}); check the network "
            "and TELEGRAM_API_BASE_URL"
        ) from None


def cmd_run(args, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        raise UsageError("TELEGRAM_BOT_TOKEN is not set; put it in .env (see .env.example)")
    cfg = load_config(settings.metrics_config)
    engine = engine_from_settings(settings)
    check_connection(engine)
    start_bot(settings, cfg, engine)
    return 0


def cmd_health(args, settings: Settings) -> int:
    """The container's and systemd's health probe: no curl in a slim image, so Python asks."""
    from urllib.error import HTTPError, URLError
    from urllib.request import urlopen

    if settings.metrics_port is None:
        raise UsageError("METRICS_PORT is not set, so `salespulse run` serves no /healthz; set it, e.g. 9090")
    url = f"http://127.0.0.1:{settings.metrics_port}/healthz"
    try:
        with urlopen(url, timeout=10) as response:
            print(response.read().decode())
            return 0
    except HTTPError as exc:  # 503: the body says which part is down
        print(exc.read().decode())
        return 1
    except (URLError, OSError) as exc:
        print(f"salespulse: no answer from {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1


COMMANDS = {"report": cmd_report, "seed": cmd_seed, "demo": cmd_demo, "run": cmd_run, "health": cmd_health,
            "check": cli_check.run, "sessions": cli_sessions.run, "alerts": cli_alerts.run}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = None
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        install_redaction(settings.telegram_bot_token)
        for folder in settings.metric_plugins:  # metrics of one's own, before anything lists metrics
            register_folder(folder)
        return COMMANDS[args.command](args, settings)
    except (SettingsError, ConfigError, ReportInputError, UsageError, DatabaseError) as exc:
        print(f"salespulse: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for secrets
        # A crash is a bug and deserves its traceback, but never with the token or a password in it.
        import traceback

        token = os.environ.get("TELEGRAM_BOT_TOKEN") or (settings.telegram_bot_token if settings else None)
        text = "".join(traceback.format_exception(exc))
        print(redact(text.replace(token, "<token>") if token else text), file=sys.stderr, end="")
        return 1


if __name__ == "__main__":
    sys.exit(main())
