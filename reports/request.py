"""What a report is for, built once where a request enters (the command line, the bot) and passed
down whole: `ReportRequest`. And what a person typed (`/report 2026-03-14 funnel`), parsed with
messages that help."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from db.i18n import FALLBACK, LOCALES, LocalizedError, lookup
from db.source import DEFAULT_STATE_SCHEMA
from metrics.day import ReportDay
from metrics.scope import Scope, ScopeError, parse_scope
from reports.registry import aliases, names


class ReportInputError(LocalizedError):
    """The request cannot be served; the catalogue's message `key` says what was wrong and what
    would be right (str(): English, for the CLI; `text(locale)`: the chat's language)."""


@dataclass(frozen=True)
class ReportRequest:
    """One digest to compute: the day in its zone, the reader's language, whose numbers, which
    metrics, and where the data and SalesPulse's own state live. Frozen and hashable: the bot's
    digest cache keys on it, so every chat asking the same thing shares one computation."""
    day: ReportDay
    locale: str = FALLBACK
    scope: Scope | None = None  # None: the whole company
    metrics: tuple[str, ...] = field(default_factory=names)  # every metric of the registry
    source_schema: str = "public"
    state_schema: str = DEFAULT_STATE_SCHEMA
    # "day", or "week" / "month": the period in review that ends on `day` (reports.review)
    period: str = "day"


def report_request(day: ReportDay, *, locale: str = FALLBACK, scope: str | None = None,
                   metrics: tuple[str, ...] | None = None, source_schema: str = "public",
                   state_schema: str = DEFAULT_STATE_SCHEMA) -> ReportRequest:
    """The request for a scope given as text ("team:north & region:msk"): a bad one is a
    ReportInputError in the reader's language, before anything is computed."""
    return ReportRequest(day, locale, parse_report_scope(scope), metrics or names(), source_schema, state_schema)


def parse_report_scope(text: str | None) -> Scope | None:
    try:
        return parse_scope(text)
    except ScopeError as exc:
        raise ReportInputError("error.bad_report_scope", error=exc) from None


@dataclass(frozen=True)
class Asked:
    """What `/report …` asked for: a day and the metrics (all of them unless one was named)."""
    day: date
    metrics: tuple[str, ...] = field(default_factory=names)


@functools.cache  # the catalogue is fixed for the process; every /report asks again
def _words(key: str) -> frozenset[str]:
    """A word people type (today, сегодня, 今天, hôm nay) in every language: a chat may type
    its own language's word whatever the bot's default is."""
    return frozenset(text.lower() for lang in LOCALES if (text := lookup(key, lang, fallback=False)))


def parse_date(text: str | None, today: date) -> date:
    """'today', 'yesterday' (the default), or YYYY-MM-DD; never a date in the future."""
    value = (text or "yesterday").strip().lower()
    if value in _words("input.yesterday"):
        return today - timedelta(days=1)
    if value in _words("input.today"):
        return today
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if not m:
        example = f"{today - timedelta(days=1):%Y-%m-%d}"
        raise ReportInputError("error.not_a_date", text=text, example=example)
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ReportInputError("error.not_in_calendar", text=text, reason=str(exc)) from None
    if d > today:
        raise ReportInputError("error.future", day=f"{d:%Y-%m-%d}", today=f"{today:%Y-%m-%d}")
    return d


def parse_metric(text: str) -> str:
    name = aliases().get(text.strip().lower(), text.strip().lower())
    if name not in names():
        raise ReportInputError("error.unknown_metric", text=text, metrics=", ".join(names()))
    return name


@functools.cache
def _phrases() -> tuple[tuple[str, ...], ...]:
    """The date words that are several words ('hôm nay'), split as Telegram splits the command,
    longest first."""
    words = (tuple(w.split()) for w in _words("input.today") | _words("input.yesterday"))
    return tuple(sorted((w for w in words if len(w) > 1), key=len, reverse=True))


def _join_phrases(args: list[str]) -> list[str]:
    """Consecutive arguments that spell a several-word date word (case-insensitively) become one
    argument: `/report hôm nay` arrives as ['hôm', 'nay']."""
    out, i = [], 0
    while i < len(args):
        for phrase in _phrases():
            if tuple(a.lower() for a in args[i:i + len(phrase)]) == phrase:
                out.append(" ".join(args[i:i + len(phrase)]))
                i += len(phrase)
                break
        else:
            out.append(args[i])
            i += 1
    return out


def parse_request(args: list[str], today: date) -> Asked:
    """Arguments of `/report`: an optional date word and an optional metric, in either order.
    A date word of several words ('hôm nay') may span several arguments."""
    day_text, metric = None, None
    for arg in _join_phrases(args):
        looks_like_date = bool(re.match(r"^\d", arg)) or arg.lower() in (
            _words("input.today") | _words("input.yesterday"))
        if looks_like_date and day_text is None:
            day_text = arg
        elif metric is None:
            metric = parse_metric(arg)
        else:
            raise ReportInputError("error.report_args")
    return Asked(parse_date(day_text, today), (metric,) if metric else names())
