"""Every statement a digest runs, with its executed plan: auto_explain on the driver's connection.

Each new connection of a capturing engine loads auto_explain with every statement logged at NOTICE
(analyzed, with buffers, as JSON, nested statements too) and `client_min_messages = notice`, so
the plans come back to the client as notices; psycopg2 hands them to `connection.notices`, which
here is a `Capture`: it parses each plan as it arrives and files it under the stage the digest is
in (the digest's progress callback names it). Nothing is written to the server's log.

`summarize` reads one plan: its time, its rows, its largest node by loops × rows, its total work,
and the tables it scans. A node's rows are the rows it returned plus those its filters removed
(per loop, as EXPLAIN prints them), times its loops: a probe that scans 137k rows to keep none is
as much work as one that returns them (issue 23's funnel probes), and Actual Rows alone would
show it as nothing.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SETTINGS = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_buffers = on",
    "SET auto_explain.log_format = json",
    "SET auto_explain.log_nested_statements = on",
    "SET auto_explain.log_level = notice",
    "SET client_min_messages = notice",
)
REMOVED = ("Rows Removed by Filter", "Rows Removed by Index Recheck", "Rows Removed by Join Filter")
_NOTICE = re.compile(r"duration: ([0-9.]+) ms\s+plan:\s*(\{.*\})\s*$", re.DOTALL)


@dataclass(frozen=True)
class Node:
    """The plan node with the most loops × rows."""
    node_type: str
    relation: str | None
    loops: int
    rows: float  # per loop: returned + removed by filters
    work: float  # loops × rows


@dataclass(frozen=True)
class PlanStats:
    ms: float
    rows: float  # the statement's result rows (the top node's)
    largest: Node
    work: float  # sum of loops × rows over every node
    relations: tuple[str, ...]  # the relations its scans read, by name (no schema without VERBOSE)
    query: str


def nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def node_rows(node: dict) -> float:
    return float(node.get("Actual Rows", 0)) + sum(float(node.get(k, 0)) for k in REMOVED)


def summarize(explained: dict, ms: float) -> PlanStats:
    """One auto_explain JSON document (`{"Query Text": ..., "Plan": {...}}`) and its duration."""
    top = explained["Plan"]
    largest, total, relations = None, 0.0, []
    for n in nodes(top):
        loops = int(n.get("Actual Loops", 0))
        rows = node_rows(n)
        work = loops * rows
        total += work
        if largest is None or work > largest.work:
            largest = Node(n.get("Node Type", "?"), n.get("Relation Name"), loops, rows, work)
        if n.get("Relation Name") and n["Relation Name"] not in relations:
            relations.append(n["Relation Name"])
    return PlanStats(ms, float(top.get("Actual Rows", 0)), largest, total, tuple(relations),
                     explained.get("Query Text", ""))


def parse_notice(text: str) -> PlanStats | None:
    """An auto_explain notice ("NOTICE:  duration: 1.2 ms  plan:\\n{...}"), or None for any other."""
    m = _NOTICE.search(text)
    if not m:
        return None
    return summarize(json.loads(m.group(2)), float(m.group(1)))


def fingerprint(query: str, schemas: tuple[str, ...] = ()) -> str:
    """The same statement whatever its literals and schemas: the key that follows it across sizes."""
    q = query
    for i, s in enumerate(schemas):
        q = q.replace(f'"{s}".', f"S{i}.").replace(f"{s}.", f"S{i}.")
    q = re.sub(r"'(?:[^']|'')*'", "?", q)
    q = re.sub(r"\b\d+(?:\.\d+)?\b", "?", q)
    q = re.sub(r"\?(?:\s*(?:::\w+)?\s*,\s*\?)+", "?", q)  # lists of any length: ARRAY[?, ?, ?]
    q = re.sub(r"\s+", " ", q).strip().lower()
    return hashlib.sha1(q.encode()).hexdigest()[:8]


def hint(stats: PlanStats) -> str:
    """A word people can read: the first CTE's name, the table an insert writes, else the first
    relation the plan reads."""
    m = re.search(r"^\s*(?:--[^\n]*\n\s*)*with\s+(?:recursive\s+)?(\w+)\s+as", stats.query, re.IGNORECASE)
    if m:
        return m.group(1)
    m = re.search(r"^\s*insert\s+into\s+((?:\"?\w+\"?\.)?\"?\w+\"?)", stats.query, re.IGNORECASE)
    if m:
        return "insert into " + m.group(1).split(".")[-1].strip('"')
    if stats.relations:
        return "from " + stats.relations[0]
    return " ".join(stats.query.split()[:2]).lower()


@dataclass
class Capture:
    """psycopg2's `connection.notices` for every connection of an engine: plans by stage."""
    stage: str = "setup"
    phase: str = "measured"  # or "warm-up": the first digest, whose statements are not explained
    plans: list[tuple[str, PlanStats]] = field(default_factory=list)
    unparsed: int = 0

    def append(self, notice: str) -> None:
        stats = parse_notice(notice)
        if stats is None:
            self.unparsed += 1
        else:
            self.plans.append((self.stage, stats))

    def set_stage(self, stage: str) -> None:
        self.stage = stage


def has_auto_explain(engine: Engine) -> bool:
    """Whether the server can load auto_explain: it ships with Postgres' contrib (Debian's
    postgresql has it), not with every build (the embedded server of pgserver has none)."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("LOAD 'auto_explain'")
    except sa.exc.OperationalError:
        return False
    return True


def attach(engine: Engine, capture: Capture) -> None:
    """Every connection the engine opens from now on explains its statements into `capture`."""
    @sa.event.listens_for(engine, "connect")
    def _explain(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            for stmt in SETTINGS:
                cur.execute(stmt)
        dbapi_conn.commit()
        dbapi_conn.notices = capture
