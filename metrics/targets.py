"""The plan: the optional `targets` source table (docs/plan.md).

`targets (period_start date, period text, metric text, scope text null, value numeric)`: a view
over the CRM's plan, or rows an admin adds. One row is the plan of one checked number that sums
over days, for one calendar month or ISO week, for the company (scope null) or one scope (its
text as `--scope` takes it, compared in canonical form: "team:north & region:msk" and
"region:msk&team:north" are one scope).

A row the digest cannot use (an unknown metric, a period that is not a calendar month or an ISO
week, a scope that does not parse, no positive value, or a second row for the same number,
period and scope) is left out with a log line; `salespulse check` names each (`audit`).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import Source, relations
from metrics.periods import KINDS, Period, period_start
from metrics.scope import Scope, ScopeError, canonical

log = logging.getLogger(__name__)

TABLE = "targets"
# A plannable number -> the (metric, field) of its daily series (its metric's `series`).
# conversions: every campaign channel's credited conversions together.
PLANNED: dict[str, tuple[str, str]] = {
    "revenue": ("new_payers", "revenue"),
    "new_payers": ("new_payers", "new_payers"),
    "payments": ("new_payers", "payments"),
    "new_payer_revenue": ("new_payers", "new_payer_revenue"),
    "sessions": ("attribution", "sessions"),
    "conversions": ("campaigns", "conversions"),
}
MONEY = ("revenue", "new_payer_revenue")
MAX_ROWS = 20_000  # a plan is small; a view that returns more is read up to this many rows


@dataclass(frozen=True)
class Target:
    """One usable row: the plan of `metric` over `period` for `scope` (None: the company)."""
    period: Period
    metric: str
    scope: str | None
    value: float


@dataclass(frozen=True)
class RawRow:
    period_start: date | None
    period: str | None
    metric: str | None
    scope: str | None
    value: float | None


def has_targets(conn: Connection, src: Source) -> bool:
    return TABLE in relations(conn, src.schema, [TABLE])


def read_rows(conn: Connection, src: Source, starts: Iterable[date] | None = None) -> list[RawRow]:
    """The table's rows (those starting on one of `starts` when given), as they are."""
    where = "where period_start = any(:starts)" if starts is not None else ""
    sql = (f"select period_start, period, metric, scope, value from {src.table(TABLE)} {where} "
           f"order by period_start, metric, scope limit {MAX_ROWS}")
    params = {"starts": list(starts)} if starts is not None else {}
    return [RawRow(r[0], r[1], r[2], r[3], None if r[4] is None else float(r[4]))
            for r in conn.execute(sa.text(sql), params)]


def _scope_text(text: str | None) -> str | None:
    """The canonical scope text; ScopeError for text that does not parse."""
    return None if text is None or not text.strip() else canonical(text)


def _usable(row: RawRow) -> Target | str:
    """The row as a Target, or why it cannot be one."""
    kind = (row.period or "").strip().lower()
    metric = (row.metric or "").strip().lower()
    if kind not in KINDS:
        return f"period {row.period!r} is not 'month' or 'week'"
    if metric not in PLANNED:
        return f"metric {row.metric!r} cannot be planned"
    if row.period_start is None or row.period_start != period_start(kind, row.period_start):
        return f"a {kind}'s plan starts on its first day, not {row.period_start}"
    if row.value is None or row.value <= 0:
        return f"value {row.value} is not a positive number"
    try:
        scope = _scope_text(row.scope)
    except ScopeError as exc:
        return f"scope {row.scope!r} does not parse: {exc}"
    return Target(Period(kind, row.period_start), metric, scope, row.value)


def usable_targets(rows: Iterable[RawRow]) -> tuple[list[Target], list[tuple[RawRow, str]]]:
    """(the usable targets, each unusable row with why). Two rows for one number, period and
    scope are both unusable: which of them is the plan is for the company to say."""
    good: dict[tuple, list[Target]] = {}
    bad: list[tuple[RawRow, str]] = []
    for row in rows:
        got = _usable(row)
        if isinstance(got, str):
            bad.append((row, got))
        else:
            good.setdefault((got.period, got.metric, got.scope), []).append(got)
    out = []
    for found in good.values():
        if len(found) == 1:
            out.append(found[0])
        else:
            bad += [(RawRow(t.period.start, t.period.kind, t.metric, t.scope, t.value),
                     (f"{len(found)} rows plan {t.metric} for the {t.period.kind} of {t.period.start}"
                     f" ({t.scope or 'company'}): overlapping periods, none is used")) for t in found]
    return sorted(out, key=lambda t: (t.period, list(PLANNED).index(t.metric))), bad


def targets_for(conn: Connection, src: Source, day: date, scope: Scope | None,
                kinds: Iterable[str] = KINDS) -> list[Target]:
    """The usable plans of `scope` (its own rows only) whose week or month contains `day`."""
    if not has_targets(conn, src):
        return []
    starts = {k: period_start(k, day) for k in kinds}
    found, bad = usable_targets(read_rows(conn, src, set(starts.values())))
    for row, why in bad:
        log.warning("targets row %s %s %s %s left out: %s", row.period_start, row.period, row.metric, row.scope, why)
    mine = None if scope is None else str(scope)
    return [t for t in found if t.scope == mine and starts.get(t.period.kind) == t.period.start]
