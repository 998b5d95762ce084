"""SQL text helpers: the one place identifiers are quoted and `.sql` step files are read.

Names of schemas and tables are spliced into SQL text; every configured value (regexes, host
lists, event names) and every date of a report goes in as a bind parameter. The one exception is
the Spark job's JDBC subqueries (metrics.sessions.spark_store), which take no parameters: there the code
writes the range's instants and the watermark it computed itself. A name must be a plain
identifier before it gets here, so quoting cannot be escaped and `:word` never appears in a name.
"""
from __future__ import annotations

import re
from functools import cache
from importlib import resources

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_STEP = re.compile(r"^-- step: (\w+(?: \([\w, ]+\))?)[ \t]*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


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


def shown(*parts: str) -> str:
    """A name ("schema"."table", or one part), quoted and escaped, for a statement SalesPulse prints
    for a person to run (`salespulse check`) and never runs itself: a company's own table may have
    any name."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


@cache
def steps(package: str, filename: str) -> dict[str, str]:
    """The named steps of a `.sql` file, in order. Each starts at a `-- step: name` line (or
    `-- step: name (col, ...)` for a column list) and is one CTE; the last is the query's final
    select. Text before the first step describes the file. Read once per process."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _STEP.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def compose(named: dict[str, str], fragments: dict[str, str], until: str | None = None) -> str:
    """One query of the steps: every step but the last as a CTE, then the last. With `until`, the
    steps up to that one and `select * from` it, to read an intermediate step like a dbt model.

    `{word}` placeholders are filled from `fragments`: SQL text the code builds (quoted table
    names, predicates), never a configuration value, which goes in as a bind parameter."""
    items = list(named.items())
    if until is not None:
        items = items[: [n.split(" ")[0] for n, _ in items].index(until) + 1]
        items.append(("", f"select * from {until}"))
    *ctes, (_, final) = items
    text = "with " + ",\n".join(f"{name} as (\n{body}\n)" for name, body in ctes) + "\n" + final

    def fill(m: re.Match) -> str:
        if m.group(1) not in fragments:
            raise KeyError(f"SQL step placeholder {{{m.group(1)}}} has no fragment")
        return fragments[m.group(1)]

    return _PLACEHOLDER.sub(fill, text)
