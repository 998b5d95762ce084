"""SQL text helpers: the one place identifiers are quoted and `.sql` step files are read.

Names of schemas and tables are the only values spliced into SQL text; every other value (dates,
regexes, host lists, event names) goes in as a bind parameter. A name must be a plain identifier
before it gets there, so quoting cannot be escaped and `:word` never appears inside a name.
"""
from __future__ import annotations

import re
from functools import cache
from importlib import resources

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_STEP = re.compile(r"^-- step: (\w+)\s*$", re.MULTILINE)


def check_identifier(what: str, name: str) -> str:
    """A schema or table name goes into SQL text quoted; only a plain identifier may get there."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} is not a plain identifier; use letters, digits and _ "
            "(at most 63, not starting with a digit), e.g. public"
        )
    return name


def quote(name: str, what: str = "identifier") -> str:
    """`name` as a quoted SQL identifier (case kept), after checking it is a plain identifier."""
    return f'"{check_identifier(what, name)}"'


def qualified(schema: str, table: str) -> str:
    """A schema-qualified table name for SQL text: "schema"."table"."""
    return f"{quote(schema, 'schema')}.{quote(table, 'table')}"


@cache
def steps(package: str, filename: str) -> dict[str, str]:
    """The named steps of a `.sql` file, in order: each starts at a `-- step: name` line and is a
    `name as (...)` CTE body a query composes; read once per process."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _STEP.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}
