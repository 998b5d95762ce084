"""The company's source tables: which exist, where they live, and the DDL the demo and tests use.

SalesPulse only reads these tables. `create_source_tables` exists for the demo loader and for the
test fixtures, the only writers.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SOURCE_TABLES = (
    "events_dict",
    "events",
    "payments",
    "web_events",
    "message_sends",
    "message_interactions",
)


@dataclass(frozen=True)
class Source:
    """Where the source tables are and which of them exist."""

    schema: str = "public"
    tables: frozenset[str] = frozenset(SOURCE_TABLES)
    # The bot's own schema, for derived data a metric keeps between runs (attribution sessions).
    state_schema: str = "salespulse"

    def table(self, name: str) -> str:
        """Qualified name for SQL text; `schema` is validated as a plain identifier."""
        return f'"{self.schema}"."{name}"'

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)

    def missing(self, *names: str) -> list[str]:
        return [n for n in names if n not in self.tables]


def inspect_source(conn: Connection, schema: str, state_schema: str = "salespulse") -> Source:
    rows = conn.execute(
        sa.text(
            "select table_name from information_schema.tables "
            "where table_schema = :schema and table_name = any(:names)"
        ),
        {"schema": schema, "names": list(SOURCE_TABLES)},
    )
    return Source(schema=schema, tables=frozenset(r[0] for r in rows), state_schema=state_schema)


def source_ddl(schema: str, naive_timestamps: bool = False) -> str:
    text = resources.files("db").joinpath("source_tables.sql").read_text(encoding="utf-8")
    ts = "timestamp without time zone" if naive_timestamps else "timestamptz"
    return text.replace("{schema}", f'"{schema}"').replace("{ts}", ts)


def create_source_tables(conn: Connection, schema: str, naive_timestamps: bool = False) -> None:
    conn.exec_driver_sql(source_ddl(schema, naive_timestamps))
