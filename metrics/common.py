"""Small pieces every metric shares: event-name resolution and the experiment-flow exclusion."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source
from metrics.config import MetricConfig


def event_ids(conn: Connection, src: Source, names: tuple[str, ...] | list[str]) -> dict[str, list[int]]:
    """Map each event name to its ids in events_dict (a name may have several ids, or none)."""
    out: dict[str, list[int]] = {n: [] for n in names}
    if not names:
        return out
    rows = conn.execute(
        sa.text(f"select id, description from {src.table('events_dict')} where description = any(:names)"),
        {"names": list(names)},
    )
    for event_id, description in rows:
        out[description].append(event_id)
    return out


def excluded_event_ids(conn: Connection, src: Source, cfg: MetricConfig) -> list[int]:
    """Ids of the experiment-flow events; none when exclusion is off or the source has no events.

    Without events/events_dict there is nothing to exclude by: the metric runs without the
    exclusion and the digest notes it (reports.requirements), rather than failing on the table.
    """
    if not src.has("events", "events_dict"):
        return [-1]
    ids = event_ids(conn, src, cfg.excluded_events)
    # -1 never matches a real id and keeps `= any(:excluded_ids)` valid SQL for an empty list.
    return sorted({i for v in ids.values() for i in v}) or [-1]


def excluding(ids: Sequence[int]) -> bool:
    """Whether `excluded_event_ids` found anything to exclude ([-1] is its "nothing")."""
    return any(i != -1 for i in ids)


def not_excluded(src: Source, user_col: str, ids: Sequence[int]) -> str:
    """SQL predicate: the user has no experiment-flow event, ever; '' (no predicate at all) when
    nothing is excluded (`ids` of `excluded_event_ids`).

    A per-user probe of the (user_id, happened_at) INCLUDE (event_id) index, so its cost follows
    the users being reported on, not the size of the experiment. Never emitted when it is always
    true: the planner cannot see that `= any(ARRAY[-1])` matches nothing, and without statistics
    it guessed the probe's outer side at one row and nested every later join inside it (issue 23).
    """
    if not src.has("events") or not excluding(ids):
        return ""
    return (
        f"not exists (select 1 from {src.table('events')} x "
        f"where x.user_id = {user_col} and x.event_id = any(:excluded_ids))"
    )


def also(*predicates: str) -> str:
    """`and <predicate>` for each predicate that is not '', to follow a WHERE's first condition."""
    return "".join(f"\n      and {p}" for p in predicates if p)


def where(*predicates: str) -> str:
    """`where p1 and p2 ...` over the predicates that are not '', or '' when none is left."""
    kept = [p for p in predicates if p]
    return "where " + " and ".join(kept) if kept else ""


def money(value: Decimal | float | None) -> float:
    return round(float(value or 0), 2)


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)
