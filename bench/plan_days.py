"""The rows of the days a statement reads: the denominator of the plan corpus's flags.

A plan names the relations it scans (a partition, the wide table under a view, a state table),
never the days it reads. So, by definition here:

- a relation's **table** is the relation itself, or the partitioned parent of a partition;
- its **time column** is the contract's for a source table (db.source.TIME_COLUMNS), else its
  first `date`, `timestamp` or `timestamptz` column (the wide table's, the session store's); a
  relation with none (events_dict, user_tags) has no days and adds no rows;
- the **days it reads** run from the earliest to the latest date written in the statement (its
  parameters reach the server as literals: psycopg2 interpolates them), the report day when it
  names none, never past the report day; a first-ever probe into older history therefore counts
  as work, not as days read;
- **day rows**: the report day's rows summed over the tables it scans; **read rows**: the same
  over the days it reads. Days are calendar days of the time column (the corpus runs in UTC).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.source import TIME_COLUMNS

_DATE = re.compile(r"'(\d{4}-\d{2}-\d{2})")
_TIME_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")


def days_read(query: str, day: date) -> tuple[date, date]:
    """[first, last] day a statement's literals span, clamped to the report day."""
    found = sorted({date.fromisoformat(d) for d in _DATE.findall(query)})
    if not found:
        return day, day
    return min(found[0], day), min(found[-1], day)


@dataclass
class DayRows:
    """Rows per day of every table a statement scanned, counted once per table and cached."""
    schemas: tuple[str, ...]  # where to look a relation name up, in order (source, state, others)
    _tables: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # relation -> (table, column)
    _counts: dict[str, dict[date, int]] = field(default_factory=dict)

    def table_of(self, conn: Connection, relation: str) -> tuple[str, str] | None:
        """(qualified table, time column) of a relation name, or None (no days, or not ours)."""
        if relation not in self._tables:
            self._tables[relation] = self._resolve(conn, relation)
        return self._tables[relation]

    def _resolve(self, conn: Connection, relation: str) -> tuple[str, str] | None:
        row = conn.execute(sa.text(
            "select coalesce(p.oid, c.oid)::regclass::text, coalesce(pc.relname, c.relname), "
            "       array_position(:schemas, n.nspname) as rank "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "left join pg_inherits i on i.inhrelid = c.oid and c.relispartition "
            "left join pg_class p on p.oid = i.inhparent left join pg_class pc on pc.oid = p.oid "
            "where c.relname = :rel and n.nspname = any(:schemas) order by rank limit 1"),
            {"rel": relation, "schemas": list(self.schemas)}).first()
        if row is None:
            return None
        table, name = row[0], row[1]
        column = TIME_COLUMNS.get(name) or conn.execute(sa.text(
            "select attname from pg_attribute where attrelid = cast(:t as regclass) and attnum > 0 "
            "and not attisdropped and format_type(atttypid, atttypmod) = any(:types) order by attnum limit 1"),
            {"t": table, "types": list(_TIME_TYPES)}).scalar()
        return (table, column) if column else None

    def per_day(self, conn: Connection, table: str, column: str) -> dict[date, int]:
        if table not in self._counts:
            rows = conn.execute(sa.text(f'select "{column}"::date, count(*) from {table} group by 1'))
            self._counts[table] = defaultdict(int, {d: n for d, n in rows if d is not None})
        return self._counts[table]

    def rows(self, conn: Connection, relations: tuple[str, ...], first: date, last: date) -> int:
        """The rows of [first, last] over the distinct tables under these relations."""
        tables = {t for r in relations if (t := self.table_of(conn, r)) is not None}
        total = 0
        for table, column in tables:
            counts = self.per_day(conn, table, column)
            total += sum(n for d, n in counts.items() if first <= d <= last)
        return total
