"""`salespulse check` asks the planner what the reports' SQL will meet: whether each per-day and
per-user probe is served by an index through the configured table *or view*, and whether the
tables under it have planner statistics.

An index on the table under a view serves only when the view passes the probe's condition down to
a column (or an expression) that the index covers: a device id the view builds from user and
platform is an expression no plain index serves, and every per-device probe then reads the table
by time. Plain EXPLAIN of the generic plan (db.plans) tells, reading no row. Missing statistics
are the other cliff: a table loaded or restored and never analyzed makes the planner guess one
row where there are thousands, and a nested loop over that guess re-reads the table per row.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db import catalog as cat
from db import plans
from db.contract import Index, Table
from db.sql import qualified, shown

OK, INFO, WARN = "ok", "info", "warn"
# A relation this small (8 pages) is read whole at no cost: a lookup table a view joins.
SMALL_BYTES = 65_536


@dataclass(frozen=True)
class Verdict:
    table: str  # the contract's table it is filed under
    level: str
    text: str


def probe(schema: str, t: Table, ix: Index) -> tuple[str, int]:
    """The probe the reports make through this index, and its number of parameters: a key
    equal to $1 (and the time column in [$2, $3) when the index continues with it), or the
    time column in [$1, $2)."""
    key, time = ix.columns[0], t.time_column
    if key == time:
        where, params = f"{key} >= $1 and {key} < $2", 2
    elif len(ix.columns) > 1 and ix.columns[1] == time:
        where, params = f"{key} = $1 and {time} >= $2 and {time} < $3", 3
    else:
        where, params = f"{key} = $1", 1
    return f"select {', '.join(ix.include or ix.columns)} from {qualified(schema, t.name)} where {where}", params


def probe_verdicts(conn: Connection, schema: str, t: Table, kind: str, indexes: list[Index]) -> list[Verdict]:
    """One verdict per probe: "ok: index scan" with the indexes that serve it, or a warning per
    relation the probe would scan, with the statement to run.

    The plan says which relations a probe reads and what its key becomes in each (a column, or
    the expression a view computes); the catalog says whether an index leads with that. On a
    small or unanalyzed table the planner may pick another index or none, which at size it would
    not: the verdict is whether an index *can* serve."""
    out = []
    for ix in indexes:
        sql, params = probe(schema, t, ix)
        try:
            scans = plans.scans(plans.generic_plan(conn, sql, params))
        except sa.exc.DBAPIError as exc:
            if isinstance(exc, sa.exc.OperationalError) and exc.connection_invalidated:
                raise
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            out.append(Verdict(t.name, WARN, f"cannot plan a probe by ({', '.join(ix.columns)}): {reason}"))
            continue
        key_seen = any(_key(s) for s in scans)
        served, problems = [], {}
        for s in scans:
            key = _key(s)
            wanted = key or _join_key(s)  # a table the view joins is reached through its join key
            serving = [n for n, lead in cat.leading_keys(conn, s.schema, s.table).items()
                       if wanted and plans.same(lead, wanted)]
            serving = serving or (list(s.indexes) if _joined_by_index(s) else [])
            served += serving
            if not serving and not _small(conn, s):
                problems.setdefault(cat.partition_root(conn, s.schema, s.table), s)
        if not problems:
            used = ", ".join(dict.fromkeys(served)) or "no table read"
            out.append(Verdict(t.name, OK, f"index scan for probes by ({', '.join(ix.columns)}): {used}"))
        out += [Verdict(t.name, WARN, _warning(t, kind, ix, s, root, key_seen)) for root, s in problems.items()]
    return out


def _key(s: plans.Scan, param: int = 1) -> str | None:
    """What the probe's parameter is compared with in this scan, in the table's own terms."""
    conds = plans.conjuncts(s.index_cond) + plans.conjuncts(s.filter)
    expr = next((e for c in conds if (e := plans.operand(c, param))), None)
    return plans.unqualified(expr, s.alias) if expr else None


def _join_key(s: plans.Scan) -> str | None:
    """The scan's side of the condition a view joins it on ('e.event_type = t.name': event_type)."""
    conds = plans.conjuncts(s.filter) + plans.conjuncts(s.join_cond) + plans.conjuncts(s.index_cond)
    side = next((e for c in conds if (e := plans.join_side(c, s.alias))), None)
    return plans.unqualified(side, s.alias) if side else None


def _joined_by_index(s: plans.Scan) -> bool:
    """Run once per row a view's join brings, on an index condition of that row's join key."""
    return s.by_index and s.loop_inner and bool(plans.aliases(s.index_cond) - {s.alias})


def _small(conn: Connection, s: plans.Scan) -> bool:
    """A lookup table a view joins (event names, statuses) costs nothing to read whole. (A foreign
    table stores nothing here, so it passes too: its server applies the condition.)"""
    return cat.relation_bytes(conn, s.schema, s.table) <= SMALL_BYTES


def _warning(t: Table, kind: str, ix: Index, s: plans.Scan, root: tuple[str, str, bool], key_seen: bool) -> str:
    key, table, key_expr = ix.columns[0], shown(root[0], root[1]), _key(s)
    view = kind not in ("table", "partitioned table")
    time_expr = _key(s, 2) if key != t.time_column else None
    if key_expr is None:
        on = _join_key(s)
        if on and key_seen:
            return (f"each probe scans {table}: the {kind} {t.name} joins it on {on}, which no index leads with; "
                    f"{_statement(ix, root, on, time_expr)}")
        if key_seen:
            return (f"each probe scans {table}: the {kind} {t.name} joins it whole to the rows the probe finds; "
                    "index its join column or materialize the view")
        if view:
            return (f"each probe scans {table}: {kind} {t.name} does not pass the condition on {key} down to it "
                    "(a DISTINCT, window function or aggregate in it stops it); materialize the view")
        return f"each probe scans {table}: no index serves {key} = $1"
    run = _statement(ix, root, key_expr, time_expr)
    if plans.is_column(key_expr):
        renamed = f" (the {kind}'s {key})" if view and key_expr.strip('"') != key else ""
        return f"each probe scans {table}: no index leads with its {key_expr}{renamed}; {run}"
    return (f"each probe scans {table}: {key} is an expression in {kind} {t.name}; index that expression or "
            f"materialize the view; {run}")


def _statement(ix: Index, root: tuple[str, str, bool], key: str, time: str | None) -> str:
    """CONCURRENTLY keeps a live table writable; Postgres refuses it on a partitioned parent."""
    how = "CREATE INDEX" if root[2] else "CREATE INDEX CONCURRENTLY"
    parts = ", ".join(e if plans.is_column(e) or plans.wrapped(e) else f"({e})" for e in (key, time) if e)
    return f"run: {how} IF NOT EXISTS {shown(f'{root[1]}_{ix.name}'[:63])} ON {shown(root[0], root[1])} ({parts});"


def statistics_verdicts(conn: Connection, schema: str, names: list[str]) -> list[Verdict]:
    """Each stored relation under the source tables and views `names` (once, under the first that
    reads it) without planner statistics, and the ANALYZE to run."""
    readers: dict[cat.Stored, list[str]] = {}
    for name in names:
        for rel in cat.stored_under(conn, schema, name):
            readers.setdefault(rel, []).append(name)
    out = []
    for rel, views in readers.items():
        if rel.kind == "foreign table":
            continue
        itself = (rel.schema, rel.name) == (schema, views[0])
        what = "" if itself else f"{shown(rel.schema, rel.name)} (under {', '.join(views)}) "
        run = f"run: ANALYZE {shown(rel.schema, rel.name)};"
        if not cat.analyzed(conn, rel.schema, rel.name):
            out.append(Verdict(views[0], WARN, (
                f"{what}never analyzed: the planner guesses its rows and values, and a guess of one row where "
                f"there are thousands turns a probe per row into a scan per row; {run}")))
    return out
