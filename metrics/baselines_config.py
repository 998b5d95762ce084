"""The `[baselines]` section of the metric configuration (docs/normal.md)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class BaselinesConfig:
    holidays: tuple[date, ...] = ()  # days without a verdict, left out of every fit
    conversion_hours: int = 48       # a funnel step's daily conversion counts what happens within this


def baselines_config(r) -> BaselinesConfig:
    """From metrics.config's reader `r` (get / int_ / fail, each naming the dotted key)."""
    return BaselinesConfig(holidays(r.get("baselines.holidays"), r.fail), r.int_("baselines.conversion_hours", 1, 24 * 14))


def holidays(value: object, fail: Callable[[str, object, str], Exception]) -> tuple[date, ...]:
    """TOML dates or ISO strings; `fail(key, value, allowed)` builds the one-line error."""
    try:
        return tuple(sorted({x if isinstance(x, date) else date.fromisoformat(str(x)) for x in value}))
    except (TypeError, ValueError):
        raise fail("baselines.holidays", value, "a list of dates such as [2026-01-01, 2026-03-08]") from None
