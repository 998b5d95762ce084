"""`salespulse report --period week|month [--date D]`: the week or month in review (docs/plan.md).
The period is the one that contains D, by default the last one that is over; a period not over yet
is refused with the last complete one named (its pace is in the daily digest)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.cli.usage import UsageError
from metrics.day import ReportDay
from metrics.periods import KINDS, containing, last_complete
from reports.request import ReportRequest, parse_date, report_request


def add_arguments(parser) -> None:
    parser.add_argument("--period", choices=KINDS,
                        help="the week (Monday to Sunday) or month in review instead of one day: the one "
                             "that contains --date, by default the last complete one")


def request(args, settings, tz: str, today: date) -> ReportRequest:
    kind = args.period
    last = last_complete(kind, today)
    period = last if args.date in (None, "yesterday") else containing(kind, parse_date(args.date, today))
    if period.end >= today:
        raise UsageError(f"the {kind} of {period.start:%Y-%m-%d} is not over until {period.end:%Y-%m-%d}; "
                         f"the last complete {kind} is {last.start:%Y-%m-%d} to {last.end:%Y-%m-%d} "
                         "(the daily digest shows the pace of the current one)")
    if args.stuck_leads:
        raise UsageError("--stuck-leads lists one day's stuck leads; leave out --period")
    req = report_request(ReportDay(period.end, tz), locale=settings.locale, scope=args.scope,
                         source_schema=settings.source_schema, state_schema=settings.state_schema)
    return replace(req, period=kind)
