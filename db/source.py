"""The company's source tables: which exist, where they live, and the DDL the demo and tests use.

SalesPulse only reads these tables. `create_source_tables` exists for the demo loader and for the
test fixtures, the only writers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.sql import check_identifier, qualified, quote

# The time axis a table is partitioned on (by month) in the partitioned variant.
TIME_COLUMNS = {
    "events": "happened_at",
    "payments": "transaction_created_at",
    "web_events": "happened_at",
    "message_sends": "sent_at",
    "message_interactions": "happened_at",
}
# pg_class.relkind of the relations a source table may be.
KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}

SOURCE_TABLES = (
    "events_dict",
    "events",
    "payments",
    "web_events",
    "message_sends",
    "message_interactions",
    "user_tags",  # optional: scopes and owners (docs/scopes.md); no id column
)


# SalesPulse's own schema unless STATE_SCHEMA says otherwise (db.settings).
DEFAULT_STATE_SCHEMA = "salespulse"


@dataclass(frozen=True)
class Source:
    """Where the source tables are and which of them exist."""

    schema: str = "public"
    tables: frozenset[str] = frozenset(SOURCE_TABLES)
    # The bot's own schema, for derived data a metric keeps between runs (attribution sessions).
    state_schema: str = DEFAULT_STATE_SCHEMA

    def __post_init__(self) -> None:
        for what, name in (("source schema", self.schema), ("state schema", self.state_schema)):
            check_identifier(what, name)

    def table(self, name: str) -> str:
        """A source table's qualified name for SQL text (db.sql.qualified checks both parts)."""
        return qualified(self.schema, name)

    def state_table(self, name: str) -> str:
        """A table of the bot's own schema (derived data such as attribution sessions)."""
        return qualified(self.state_schema, name)

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)

    def missing(self, *names: str) -> list[str]:
        return [n for n in names if n not in self.tables]


def relations(conn: Connection, schema: str, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """name -> kind (see KINDS) of the relations among `names` in `schema`.

    Read from pg_class, not information_schema.tables: that view hides a partitioned parent from a
    role without privileges on it and lists partitions as tables of their own. A partition
    (relispartition) is never a source table, whatever its name.
    """
    rows = conn.execute(
        sa.text(
            "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = :schema and c.relname = any(:names) "
            "and c.relkind = any(:kinds) and not c.relispartition"
        ),
        {"schema": schema, "names": list(names), "kinds": list(KINDS)},
    )
    return {name: KINDS[kind] for name, kind in rows}


def inspect_source(conn: Connection, schema: str, state_schema: str = DEFAULT_STATE_SCHEMA) -> Source:
    found = relations(conn, check_identifier("source schema", schema), SOURCE_TABLES)
    return Source(schema=schema, tables=frozenset(found), state_schema=state_schema)


def source_ddl(schema: str, naive_timestamps: bool = False) -> str:
    text = resources.files("db").joinpath("source_tables.sql").read_text(encoding="utf-8")
    ts = "timestamp without time zone" if naive_timestamps else "timestamptz"
    return text.replace("{schema}", quote(schema, "source schema")).replace("{ts}", ts)


TARGETS_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    period_start date NOT NULL,
    period       text NOT NULL,
    metric       text NOT NULL,
    scope        text,
    value        numeric(16, 2) NOT NULL
)"""


def create_targets_table(conn: Connection, schema: str) -> None:
    """The optional plan table (docs/plan.md, metrics.targets), for `salespulse seed
    --targets` and the tests; a company's own is usually a view over its CRM. No constraints:
    `salespulse check` says what is wrong with a row, as it would of a company's table."""
    conn.exec_driver_sql(TARGETS_DDL.format(table=qualified(schema, "targets")))


def _partitioned(ddl: str, schema: str, months: tuple[date, date]) -> str:
    """The same DDL with every timed table partitioned by month on its time column.

    A partitioned table's primary key must contain the partition key, and a foreign key cannot
    point at (id) alone, so ids become (id, time) keys and the one reference is dropped. Indexes
    created on the parent cascade to every partition. A DEFAULT partition takes rows outside
    `months`, so fixtures never fail on an odd date.
    """
    out = []
    for stmt in ddl.split(";\n"):
        m = re.search(r"CREATE TABLE IF NOT EXISTS \S+\.(\w+) \(", stmt)
        table = m and m.group(1)
        if table in TIME_COLUMNS:
            col = TIME_COLUMNS[table]
            stmt = stmt.replace("bigserial PRIMARY KEY", "bigserial")
            stmt = re.sub(r" REFERENCES \S+ \(id\)", "", stmt)
            body = stmt.rstrip().removesuffix(")").rstrip()
            stmt = f"{body},\n    PRIMARY KEY (id, {col})\n) PARTITION BY RANGE ({col})"
            parent = qualified(schema, table)
            parts = [f"CREATE TABLE IF NOT EXISTS {qualified(schema, table + '_default')} PARTITION OF {parent} DEFAULT"]
            first = date(months[0].year, months[0].month, 1)
            while first <= months[1]:
                nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
                parts.append(
                    f"CREATE TABLE IF NOT EXISTS {qualified(schema, f'{table}_{first:%Y_%m}')} PARTITION OF {parent} "
                    f"FOR VALUES FROM ('{first}') TO ('{nxt}')"
                )
                first = nxt
            stmt = ";\n".join([stmt, *parts])
        out.append(stmt)
    return ";\n".join(out)


def create_source_tables(
    conn: Connection,
    schema: str,
    naive_timestamps: bool = False,
    partitioned: bool = False,
    months: tuple[date, date] | None = None,
) -> None:
    """The contract's tables; `partitioned`: by month over `months` (default: the last two years
    and the next one), as a company with big tables keeps them."""
    ddl = source_ddl(schema, naive_timestamps)
    if partitioned:
        today = date.today()
        months = months or (date(today.year - 2, today.month, 1), date(today.year + 1, today.month, 1))
        ddl = _partitioned(ddl, schema, months)
    conn.exec_driver_sql(ddl)
