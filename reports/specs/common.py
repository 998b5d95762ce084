"""What every section shares: the Line type, name widths and the CSV row helpers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NAME_MAX = 48


@dataclass(frozen=True)
class Line:
    text: str
    caption: bool = False  # also in the compact caption


def value(v: Any) -> Any:
    """A CSV cell: empty for None, floats to 6 places, dates as ISO text."""
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 6)
    return v.isoformat() if hasattr(v, "isoformat") else v


def rows(metric: str, section: str, name: str, obj: Any, fields: tuple[str, ...]) -> list[tuple]:
    return [(metric, section, name, f, value(getattr(obj, f))) for f in fields]
