"""`salespulse alerts backtest TARGET [OP NUMBER | unusual] --days N`: how often a rule would have
fired over the last N report days, and on which days.

The rule is parsed exactly as `/alert` parses it (reports.alert_rules) and replayed day by day
(reports.alert_eval.backtest): a flow target reads each day's number and band, a state target
(hanging) each day's end; a rule that keeps holding fires once, as in the bot (`fired on`,
`fired_days`), and every day it holds is listed (`firing on`, `firing_days`). Only TARGET given:
`unusual`. Progress goes to stderr; the answer to stdout (text, or one JSON object).
"""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cli.usage import UsageError
from db.settings import Settings, check_timezone

MAX_DAYS = 366


def add_parser(subparsers) -> None:
    a = subparsers.add_parser("alerts", help="alert rules: replay a rule over past days (backtest)")
    sub = a.add_subparsers(dest="alerts_command", required=True)
    b = sub.add_parser("backtest", help="how many times a rule would have fired over the last N days",
                       description="e.g. salespulse alerts backtest new_payers '<' 3 --days 30; "
                                   "salespulse alerts backtest revenue unusual --days 60")
    b.add_argument("rule", nargs="+", help="TARGET [OP NUMBER | unusual], as /alert takes it (quote < and >)")
    b.add_argument("--days", type=int, default=30, help=f"report days to replay, 1 to {MAX_DAYS} (default 30)")
    b.add_argument("--until", help="the last day YYYY-MM-DD (default yesterday in the time zone)")
    b.add_argument("--timezone", help="report time zone (default REPORT_TIMEZONE)")
    b.add_argument("--scope", help="only the users with this tag, or tags joined by &")
    b.add_argument("--format", choices=("text", "json"), default="text")
    b.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return {"backtest": backtest}[args.alerts_command](args, settings)


def _rule_words(words: list[str]) -> list[str]:
    text = " ".join(words).strip()
    if any(op in text for op in ("<", ">")) or text.lower().endswith(" unusual"):
        return words
    return [*words, "unusual"]  # only a target: is it unusual?


def backtest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from db.engine import check_connection, engine_from_settings
    from metrics.config import load_config
    from metrics.scope import ScopeError, canonical
    from reports.alert_eval import Days, Reader
    from reports.alert_eval import backtest as replay
    from reports.alert_machine import TRANSITIONS
    from reports.alert_rules import parse_rule

    tz = check_timezone("--timezone", args.timezone) if args.timezone else settings.report_timezone
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(f"--days {args.days} is out of range; give 1 to {MAX_DAYS}, e.g. --days 30")
    if args.until:
        try:
            until = date.fromisoformat(args.until)
        except ValueError:
            raise UsageError(f"--until '{args.until}' is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from None
    else:
        until = datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)
    try:
        scope = canonical(args.scope) if args.scope else None
    except ScopeError as exc:
        raise UsageError(f"--scope: {exc}") from None
    cfg = load_config(settings.metrics_config)
    spec = parse_rule(_rule_words(args.rule), cfg)  # ReportInputError: one line, exit 2
    engine = engine_from_settings(settings)
    check_connection(engine)
    bar = tqdm(total=args.days, unit="day", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
    try:
        reader = Reader(engine, settings.source_schema, cfg, settings.state_schema)
        out = replay(reader, spec, Days(until, args.days, tz), scope, progress=lambda _d: bar.update(1))
    finally:
        bar.close()
    fired = [b.day for b in out if b.fired]
    firing = [b.day for b in out if b.firing]
    rows = [{"day": b.day.isoformat(), "value": b.reading.value,
             "state": TRANSITIONS[(None, b.reading.outcome)].value, "expected": b.reading.expected,
             "low": b.reading.low, "high": b.reading.high, "fired": b.fired, "firing": b.firing,
             "error": b.reading.detail if b.reading.outcome.value == "failed" else None} for b in out]
    first = out[0].day if out else until
    if args.format == "json":
        from reports.serialize import dumps

        print(dumps({"rule": spec.describe(), "kind": spec.kind, "from": first.isoformat(),
                     "to": until.isoformat(), "timezone": tz, "scope": scope, "fired": len(fired),
                     "fired_days": [d.isoformat() for d in fired],
                     "firing_days": [d.isoformat() for d in firing], "days": rows}))
        return 0
    print(f"{spec.describe()} over {first} .. {until} ({tz}, {scope or 'whole company'}): "
          f"would have fired {len(fired)} time{'s' if len(fired) != 1 else ''}")
    for r in rows:
        band = f"  usually {_n(r['low'])}-{_n(r['high'])}" if r["low"] is not None else ""
        why = f"  ({r['error']})" if r["error"] else ""
        print(f"{r['day']}  {_n(r['value']):>10}  {r['state']:<7}{'  FIRED' if r['fired'] else ''}{band}{why}")
    print("firing on: " + (", ".join(d.isoformat() for d in firing) or "no day"))
    print("fired on: " + (", ".join(d.isoformat() for d in fired) or "no day"))
    return 0


def _n(x) -> str:
    from reports.alert_rules import format_number

    return format_number(x)
