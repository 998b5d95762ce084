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
    nothing is excluded (`ids` of `excluded_event_ids`). A row without a user is kept.

    The experiment's users are a set looked up once per statement, one event type at a time:
    under a view whose type is a join (docs' one wide event log) the planner saw `event_id =
    any(...)` as a fifth of the log and scanned all of it, up to once per outer row (22 s a
    statement on 8M rows); per type, the join hands a name to the log's (type, time) index.
    `offset 0` keeps the set whole (no per-row probe pushed into it), so the rows meet it in a
    hash anti join, which spills to disk when an experiment is large; `not in` over the same set
    ran as fast but is hashed only while the planner thinks the set fits work_mem, and compares
    every row with the whole set beyond it. A row without a user never matches, so it is kept.
    Never emitted when it is always true: without statistics the planner nested every later join
    inside a guess of one row (issue 23).
    """
    if not src.has("events") or not excluding(ids):
        return ""
    return (
        f"not exists (select 1 from (select distinct x.user_id "
        f"from unnest(cast(:excluded_ids as integer[])) as k(id) "
        f"cross join lateral (select x.user_id from {src.table('events')} x "
        f"where x.event_id = k.id) x offset 0) e where e.user_id = {user_col})"
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
