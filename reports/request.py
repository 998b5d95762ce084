"""What a person asked for: a report date and metric names, parsed with messages that help."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from reports.registry import REGISTRY

METRICS = tuple(REGISTRY)  # digest order
ALIASES = {alias: name for name, spec in REGISTRY.items() for alias in spec.aliases}


class ReportInputError(ValueError):
    """The request cannot be served; the message says what was wrong and what would be right.

    str() is the English text (the CLI); `text(locale)` gives the chat's language.
    """

    def __init__(self, en: str, ru: str | None = None):
        super().__init__(en)
        self.ru = ru or en

    def text(self, locale: str) -> str:
        return self.ru if locale == "ru" else str(self)


@dataclass(frozen=True)
class ReportRequest:
    day: date
    metrics: tuple[str, ...] = METRICS


def parse_date(text: str | None, today: date) -> date:
    """'today', 'yesterday' (the default), or YYYY-MM-DD; never a date in the future."""
    value = (text or "yesterday").strip().lower()
    if value in ("yesterday", "вчера"):
        return today - timedelta(days=1)
    if value in ("today", "сегодня"):
        return today
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if not m:
        example = f"{today - timedelta(days=1):%Y-%m-%d}"
        raise ReportInputError(
            f"'{text}' is not a date; use YYYY-MM-DD (e.g. {example}), 'today' or 'yesterday'",
            f"«{text}» — не дата; укажите ГГГГ-ММ-ДД (например, {example}), «сегодня» или «вчера»",
        )
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ReportInputError(
            f"'{text}' is not a calendar date ({exc}); use YYYY-MM-DD",
            f"«{text}» — такой даты нет в календаре; укажите ГГГГ-ММ-ДД",
        ) from None
    if d > today:
        raise ReportInputError(
            f"{d:%Y-%m-%d} is in the future; the latest day with data is today ({today:%Y-%m-%d})",
            f"{d:%Y-%m-%d} ещё не наступило; последний день с данными — сегодня ({today:%Y-%m-%d})",
        )
    return d


def parse_metric(text: str) -> str:
    name = ALIASES.get(text.strip().lower(), text.strip().lower())
    if name not in METRICS:
        raise ReportInputError(
            f"unknown metric '{text}'; choose one of: {', '.join(METRICS)}",
            f"нет метрики «{text}»; выберите одну из: {', '.join(METRICS)}",
        )
    return name


def parse_request(args: list[str], today: date) -> ReportRequest:
    """Arguments of `/report`: an optional date word and an optional metric, in either order."""
    day_text, metric = None, None
    for arg in args:
        looks_like_date = bool(re.match(r"^\d", arg)) or arg.lower() in (
            "today", "yesterday", "сегодня", "вчера",
        )
        if looks_like_date and day_text is None:
            day_text = arg
        elif metric is None:
            metric = parse_metric(arg)
        else:
            raise ReportInputError(
                "too many arguments; use /report [date|today|yesterday] [metric], "
                "e.g. /report 2024-03-14 funnel",
                "слишком много аргументов; формат: /report [дата|сегодня|вчера] [метрика], "
                "например /report 2024-03-14 funnel",
            )
    return ReportRequest(parse_date(day_text, today), (metric,) if metric else METRICS)
