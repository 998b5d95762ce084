"""What the planner would do with a query, read from plain EXPLAIN without running it.

`salespulse check` asks it about one representative probe per index the reports need: which
relations the probe scans and whether an index condition carries the probe's key. The plan is
the *generic* one (parameters `$1`, `$2`, ... for any value), so the verdict does not depend on
the values picked; sequential scans are priced out for the question, so that on a small table an
index that can serve is shown serving (at size the planner picks it anyway) and a sequential scan
in the plan means no index can.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.engine import Connection

# Plan nodes that read a relation (a table, a partition, a materialized view, a foreign table).
SCAN_NODES = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan",
              "Tid Range Scan", "Sample Scan", "Foreign Scan"}
INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
_PROBE = "salespulse_probe"


@dataclass(frozen=True)
class Scan:
    schema: str
    table: str  # the relation read (a partition, when the table is partitioned)
    alias: str
    node: str  # the plan node's type, e.g. "Index Scan", "Seq Scan"
    indexes: tuple[str, ...]  # the indexes it reads
    index_cond: str  # its index conditions ("" for none), AND-ed
    filter: str  # rows read and then thrown away unless this holds
    loop_inner: bool  # on the inner side of a nested loop: run once per outer row (a join probe)
    join_cond: str = ""  # the condition of the join above it, if any (how a view joins it)

    @property
    def by_index(self) -> bool:
        return self.node in INDEX_SCANS and bool(self.index_cond)


def generic_plan(conn: Connection, sql: str, params: int) -> dict:
    """EXPLAIN (VERBOSE, FORMAT JSON) of `sql`, whose parameters are `$1` ... `$<params>`, as the
    generic plan. Reads nothing but the catalog; the settings it needs last only for it."""
    prepared = False
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("set local plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("set local enable_seqscan = off")
        conn.exec_driver_sql(f"prepare {_PROBE} as {sql}")
        prepared = True
        values = ", ".join(["null"] * params)
        doc = conn.exec_driver_sql(f"explain (verbose, format json) execute {_PROBE}({values})").scalar_one()
    finally:
        savepoint.rollback()  # the settings end here, and so does an error
        if prepared:  # prepared statements outlive a rollback
            conn.exec_driver_sql(f"deallocate {_PROBE}")
    return doc[0]["Plan"]


def scans(plan: dict, loop_inner: bool = False, join_cond: str = "") -> list[Scan]:
    """Every relation scan of the plan tree, in plan order."""
    node = plan["Node Type"]
    children = plan.get("Plans", [])
    here = " AND ".join(plan[k] for k in ("Join Filter", "Hash Cond", "Merge Cond") if k in plan)
    join_cond = here or join_cond
    if node in SCAN_NODES:
        bitmap = [c for c in children if c["Node Type"].startswith("Bitmap")]
        conds = [plan["Index Cond"]] if "Index Cond" in plan else []
        names = [plan["Index Name"]] if "Index Name" in plan else []
        for c in _flatten(bitmap):
            conds += [c["Index Cond"]] if "Index Cond" in c else []
            names += [c["Index Name"]] if "Index Name" in c else []
        out = [Scan(plan.get("Schema", ""), plan.get("Relation Name", ""), plan.get("Alias", ""), node,
                    tuple(names), " AND ".join(conds), plan.get("Filter", ""), loop_inner, join_cond)]
        children = [c for c in children if c not in bitmap]  # sub-plans of its filter
    else:
        out = []
    for child in children:
        inner = loop_inner or (node == "Nested Loop" and child.get("Parent Relationship") == "Inner")
        out += scans(child, inner, join_cond)
    return out


def _flatten(nodes: list[dict]) -> list[dict]:
    out = []
    for n in nodes:
        out.append(n)
        out += _flatten(n.get("Plans", []))
    return out


def uses_param(condition: str, n: int) -> bool:
    return re.search(rf"\${n}(?!\d)", condition) is not None


def conjuncts(condition: str) -> list[str]:
    """The AND-ed parts of a condition as EXPLAIN prints it: '((a = $1) AND (b >= $2))' ->
    ['(a = $1)', '(b >= $2)']. Quoted text and nested parentheses stay whole."""
    text = condition.strip()
    while text.startswith("(") and _closing(text) == len(text) - 1:
        inner = text[1:-1].strip()
        if not _split_and(inner)[1:]:
            break  # '(a = $1)' is one comparison: keep its parentheses
        text = inner
    return _split_and(text)


def operand(comparison: str, param: int) -> str | None:
    """The left side of '(<expr> = $n)', '(<expr> = ANY ($n))' or '(<expr> >= $n)': the
    comparison's last top-level operator splits it; its right side must be the parameter."""
    text = comparison.strip()
    if text.startswith("(") and _closing(text) == len(text) - 1:
        text = text[1:-1].strip()
    cut = [(i, op) for i, op in _top_level(text) if op in (" = ", " >= ", " <= ", " > ", " < ")]
    if not cut:
        return None
    i, op = cut[-1]
    right = text[i + len(op):]
    return text[:i] if uses_param(right, param) and "." not in right else None


def join_side(comparison: str, alias: str) -> str | None:
    """In a join condition '(e.event_type = t.name)', the side that reads only `alias`'s columns."""
    text = _bare(comparison)
    cut = [i for i, op in _top_level(text) if op == " = "]
    if len(cut) != 1:
        return None
    left, right = text[:cut[0]], text[cut[0] + 3:]
    for own, other in ((left, right), (right, left)):
        if aliases(own) == {alias} and aliases(other) - {alias}:
            return own
    return None


def unqualified(expr: str, alias: str) -> str:
    """`expr` without its `alias.` column prefixes (VERBOSE qualifies every column), as a
    CREATE INDEX on the table takes it; quoted text is left alone."""
    names = {alias, f'"{alias}"'}
    out, i = [], 0
    while i < len(expr):
        if expr[i] == "'":
            j = i + 1
            while j < len(expr) and not (expr[j] == "'" and expr[j + 1:j + 2] != "'"):
                j += 2 if expr[j] == "'" else 1
            out.append(expr[i:j + 1])
            i = j + 1
            continue
        hit = next((n for n in names if expr.startswith(n + ".", i)
                    and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in '_."'))), None)
        if hit:
            i += len(hit) + 1
            continue
        out.append(expr[i])
        i += 1
    return "".join(out)


def wrapped(expr: str) -> bool:
    """'(a || b)': one parenthesised whole, as an index's expression column must be."""
    text = expr.strip()
    return text.startswith("(") and _closing(text) == len(text) - 1


def same(a: str, b: str) -> bool:
    """The same expression as two deparses print it (an index definition adds outer parentheses)."""
    return _bare(a) == _bare(b)


def _bare(expr: str) -> str:
    text = expr.strip()
    while wrapped(text):
        text = text[1:-1].strip()
    return text


def aliases(expr: str) -> set[str]:
    """The relation aliases whose columns `expr` reads (VERBOSE prints every column as alias.col);
    quoted text is skipped."""
    found, i = set(), 0
    while i < len(expr):
        ch = expr[i]
        if ch == "'":
            i = expr.find("'", i + 1) + 1 or len(expr)
            continue
        m = re.match(r'("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\.(?="|[A-Za-z_])', expr[i:])
        if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in '_."$')):
            found.add(m.group(1).strip('"'))
            i += m.end()
            continue
        i += 1
    return found


def is_column(expr: str) -> bool:
    return re.fullmatch(r'[A-Za-z_][\w$]*|"(?:[^"]|"")+"', expr.strip()) is not None


def _depths(text: str):
    """(index, character, depth of parentheses after it) of every character outside quoted text."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote or ch in "'\"":
            quote = "" if ch == quote else quote or ch
            continue
        depth += (ch == "(") - (ch == ")")
        yield i, ch, depth


def _closing(text: str) -> int:
    """Index of the parenthesis that closes the one `text` starts with (-1 if none)."""
    return next((i for i, ch, depth in _depths(text) if ch == ")" and depth == 0), -1)


def _top_level(text: str):
    """(position, token) of every ' AND ' and comparison operator outside parentheses and quotes."""
    for i, ch, depth in _depths(text):
        if depth == 0 and ch == " ":
            token = next((t for t in (" AND ", " >= ", " <= ", " = ", " > ", " < ") if text.startswith(t, i)), None)
            if token:
                yield i, token


def _split_and(text: str) -> list[str]:
    parts, last = [], 0
    for i, token in _top_level(text):
        if token == " AND " and i >= last:
            parts.append(text[last:i].strip())
            last = i + len(token)
    parts.append(text[last:].strip())
    return [p for p in parts if p]
