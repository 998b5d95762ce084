"""`salespulse check`: the configured source against the data contract, before the first report.

Read-only: one READ ONLY transaction, each table probed under its own savepoint so a broken view
is one finding, not the end of the check. Whether the indexes serve through views, and whether
the planner has statistics, is reports.check_planner's (plain EXPLAIN, no row read). Findings are data (Finding, MetricVerdict); the CLI
prints them one per line or as JSON.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from db import catalog as cat
from db.contract import CONTRACT, TARGETS, TIME, Table
from db.source import SOURCE_TABLES, Source, relations
from db.sql import qualified
from metrics.config import MetricConfig
from metrics.enabled import OFF
from reports.check_planner import probe_verdicts, statistics_verdicts
from reports.readiness import IS_OFF, readiness
from reports.registry import REGISTRY

OK, INFO, WARN, ERROR = "ok", "info", "warn", "error"
STATEMENT_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Finding:
    table: str
    level: str  # ok, info, warn (slower or partial numbers), error (a metric cannot use it)
    text: str


@dataclass(frozen=True)
class MetricVerdict:
    name: str
    runs: bool
    reason: str = ""  # why it is skipped
    notes: tuple[str, ...] = ()  # what it leaves out when it runs
    off: bool = False  # not running is what the configuration asks for (reports.readiness)
    hint: str = ""  # the configuration key that would change the verdict


@dataclass
class CheckReport:
    schema: str
    data_timezone: str
    findings: list[Finding] = field(default_factory=list)
    metrics: list[MetricVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every metric the configuration enables can run (and there is at least one)."""
        return all(m.runs or m.off for m in self.metrics) and any(m.runs for m in self.metrics)

    def to_json(self) -> dict:
        tables: dict[str, list[dict]] = {}
        for f in self.findings:
            tables.setdefault(f.table, []).append({"level": f.level, "text": f.text})
        return {
            "ok": self.ok,
            "schema": self.schema,
            "data_timezone": self.data_timezone,
            "tables": tables,
            "metrics": {m.name: {"runs": m.runs, "off": m.off, "reason": m.reason or None,
                                 "hint": m.hint or None, "notes": list(m.notes)} for m in self.metrics},
        }

    def lines(self) -> list[str]:
        out = [f"{f.table}: {f.level}: {f.text}" for f in self.findings]
        for m in self.metrics:
            verdict = "runs" if m.runs else f"off — {m.reason}" if m.off else f"skipped: {m.reason}"
            out.append(f"metric {m.name}: {verdict}" + "".join(f"; {n}" for n in (m.hint, *m.notes) if n))
        return out


def nearest(name: str, existing: list[str], n: int = 3) -> list[str]:
    """Closest existing names, compared lower-cased (names that differ by a letter come first)."""
    lowered: dict[str, str] = {}
    for e in existing:
        lowered.setdefault(e.lower(), e)
    return [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]


def index_statement(schema: str, name: str, ix, partitioned: bool) -> str:
    # CONCURRENTLY keeps a live table writable while the index builds; Postgres refuses it on a
    # partitioned parent, where the plain statement cascades to every partition.
    how = "CREATE INDEX" if partitioned else "CREATE INDEX CONCURRENTLY"
    include = f" INCLUDE ({', '.join(ix.include)})" if ix.include else ""
    where = f" WHERE {ix.where}" if ix.where else ""
    return f'{how} IF NOT EXISTS {ix.name} ON {qualified(schema, name)} ({", ".join(ix.columns)}){include}{where};'


def _has_index(found: list[cat.IndexInfo], want: tuple[str, ...], parent: str, leaves: list[str]) -> bool:
    """An index is equivalent when its key starts with the wanted columns, on the parent or on
    every partition."""
    matching = {i.on for i in found if i.columns[: len(want)] == want}
    return parent in matching or bool(leaves) and set(leaves) <= matching


def _check_columns(t: Table, cols: dict[str, str], data_tz: str) -> tuple[list[Finding], bool]:
    out, usable = [], True
    for c in t.columns:
        if c.name not in cols:
            close = difflib.get_close_matches(c.name, list(cols), n=2, cutoff=0.5)
            hint = f"; similar columns: {', '.join(close)}" if close else ""
            level = ERROR if c.required else WARN
            usable &= not c.required
            out.append(Finding(t.name, level, f"column {t.name}.{c.name} is missing ({c.meaning}; "
                                              f"expected {c.expected}){hint}; map it in a view, see docs/data-contract.md"))
        elif cols[c.name] not in c.types:
            usable &= not c.required
            out.append(Finding(t.name, ERROR if c.required else WARN,
                               f"column {t.name}.{c.name} is {cols[c.name]}, expected {c.expected}; cast it in a view"))
    if usable:
        out.append(Finding(t.name, OK, f"columns: {len(t.columns)} of the contract present with usable types"))
    for c in t.columns:
        if c.types == TIME and cols.get(c.name) in TIME:
            kind = ("zoned (timestamptz)" if cols[c.name] == "timestamptz"
                    else f"naive (timestamp), read as DATA_TIMEZONE={data_tz}")
            out.append(Finding(t.name, INFO, f"{c.name} is {kind}"))
    return out, usable


def _size(conn: Connection, schema: str, t: Table, kind: str, cols: dict[str, str],
          time_indexed: bool) -> Finding:
    """Rows, and the first and last instant of the time column when that is cheap to read."""
    table = qualified(schema, t.name)
    count = cat.row_count(conn, table, schema, t.name, kind)
    text = (f"{'at least ' if count.at_least else '' if count.exact else 'about '}{count.rows:,} "
            f"row{'' if count.rows == 1 else 's'}")
    if t.time_column and cols.get(t.time_column) in TIME:
        if count.exact or time_indexed:
            first, last = cat.coverage(conn, table, t.time_column)
            text += f"; {t.time_column} from {first} to {last}" if first else ""
        else:
            text += f"; date range not read: without an index on {t.time_column} it is a full scan"
    return Finding(t.name, WARN if count.rows == 0 else INFO, text)


def _check_table(conn: Connection, schema: str, t: Table, kind: str,
                 data_tz: str) -> tuple[list[Finding], bool]:
    cols = cat.columns(conn, schema, t.name)
    leaves = cat.partitions(conn, schema, t.name) if kind == "partitioned table" else []
    out = [Finding(t.name, OK, kind + (f" with {len(leaves)} partitions" if leaves else ""))]
    col_findings, usable = _check_columns(t, cols, data_tz)
    out += col_findings
    index_findings, time_indexed = [], kind not in ("table", "partitioned table")
    present = list(t.indexes)  # on a view: the planner says which serve (reports.check_planner)
    if kind in ("table", "partitioned table"):
        found = cat.indexes(conn, schema, t.name)
        time_indexed = bool(t.time_column) and _has_index(found, (t.time_column,), t.name, leaves)
        present = [ix for ix in t.indexes if _has_index(found, ix.columns, t.name, leaves)]
        index_findings += [Finding(t.name, WARN, f"no index on ({', '.join(ix.columns)}) for {ix.why}; run: "
                                   + index_statement(schema, t.name, ix, bool(leaves)))
                           for ix in t.indexes if ix not in present]
    probed = [ix for ix in present if set(ix.columns + ix.include) <= set(cols)]
    index_findings += [Finding(v.table, v.level, v.text) for v in probe_verdicts(conn, schema, t, kind, probed)]
    return out + [_size(conn, schema, t, kind, cols, time_indexed)] + index_findings, usable


def _event_findings(conn: Connection, schema: str, cfg: MetricConfig) -> tuple[list[Finding], dict[str, list[str]]]:
    """Configured event names absent from events_dict, per metric that names them."""
    existing = cat.event_names(conn, qualified(schema, "events_dict"))
    present = set(existing)
    uses = {name: list(spec.needs(cfg).events) for name, spec in REGISTRY.items()
            if cfg.enabled.get(name) != OFF}  # a metric the configuration turns off needs none
    uses["experiments"] = list(cfg.excluded_events)
    missing_by_metric = {m: list(dict.fromkeys(n for n in names if n not in present)) for m, names in uses.items()}
    missing_by_metric = {m: names for m, names in missing_by_metric.items() if names}
    used_by: dict[str, list[str]] = {}
    for metric, names in missing_by_metric.items():
        for name in names:
            used_by.setdefault(name, []).append(metric)
    if not used_by:
        return [Finding("events_dict", OK, "every configured event name is present")], {}
    if not existing:
        return [Finding("events_dict", ERROR, f"events_dict is empty: none of the {len(used_by)} configured "
                                              "event names is there")], missing_by_metric
    out = []
    for name, metrics in used_by.items():
        close = nearest(name, existing)
        hint = f"; nearest: {', '.join(repr(c) for c in close)}" if close else "; no similar name"
        level = WARN if metrics == ["experiments"] else ERROR
        out.append(Finding("events_dict", level, f"event {name!r} ({', '.join(metrics)}) is not in events_dict{hint}"))
    return out, missing_by_metric


def run_check(engine: Engine, schema: str, cfg: MetricConfig, data_timezone: str = "UTC",
              names: tuple[str, ...] | None = None) -> CheckReport:
    report = CheckReport(schema, data_timezone)
    usable: set[str] = set()
    missing_events: dict[str, list[str]] = {}
    with engine.connect() as conn:
        conn.exec_driver_sql("set transaction read only")
        # A view over a huge unindexed table must not hold the check for ever: its probe fails
        # as a finding instead.
        conn.exec_driver_sql(f"set local statement_timeout = {STATEMENT_TIMEOUT_MS}")
        if not conn.execute(sa.text("select 1 from pg_namespace where nspname = :s"), {"s": schema}).first():
            report.findings.append(Finding(schema, ERROR, f"schema {schema} does not exist; "
                                                          "set SOURCE_SCHEMA to the schema of the tables"))
        found = relations(conn, schema, list(CONTRACT))
        for name, t in CONTRACT.items():
            if name not in found:
                optional = " (optional: scopes)" if name not in SOURCE_TABLES else ""
                level = INFO if optional else WARN
                report.findings.append(Finding(name, level, f"missing: no table or view {schema}.{name}{optional}"))
                continue
            try:
                with conn.begin_nested():
                    findings, ok = _check_table(conn, schema, t, found[name], data_timezone)
                    if name == "events_dict" and ok:
                        more, missing_events = _event_findings(conn, schema, cfg)
                        findings += more
            except sa.exc.DBAPIError as exc:
                if isinstance(exc, sa.exc.OperationalError) and exc.connection_invalidated:
                    raise
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                findings, ok = [Finding(name, ERROR, f"cannot read {found[name]} {schema}.{name}: {reason}")], False
            report.findings += findings
            if ok:
                usable.add(name)
        report.findings += [Finding(v.table, v.level, v.text)
                            for v in statistics_verdicts(conn, schema, [n for n in CONTRACT if n in found])]
        report.findings += _targets(conn, schema, "user_tags" in usable)
        conn.rollback()
    src = Source(schema=schema, tables=frozenset(usable & set(SOURCE_TABLES)))
    present = Source(schema=schema, tables=frozenset(set(found) & set(SOURCE_TABLES)))
    broken = {f.table: f.text for f in reversed(report.findings) if f.level == ERROR and f.table in found}
    for name in names or tuple(REGISTRY):
        report.metrics.append(_verdict(name, cfg, src, present, broken, missing_events))
    return report


def _targets(conn: Connection, schema: str, has_tags: bool) -> list[Finding]:
    """The optional plan (docs/plan.md): its columns, then its rows (metrics.targets_audit).
    Its findings never stop a metric, so they leave the exit code alone."""
    from metrics.targets_audit import audit

    kind = relations(conn, schema, ["targets"]).get("targets")
    if kind is None:
        return [Finding("targets", INFO, f"missing: no table or view {schema}.targets (optional: the plan, docs/plan.md)")]
    try:
        with conn.begin_nested():
            findings, ok = _check_columns(TARGETS, cat.columns(conn, schema, "targets"), "UTC")
            rows = [Finding("targets", level, text) for level, text in audit(conn, schema, has_tags)] if ok else []
            return [Finding("targets", OK, kind), *findings, *rows]
    except sa.exc.DBAPIError as exc:
        if isinstance(exc, sa.exc.OperationalError) and exc.connection_invalidated:
            raise
        return [Finding("targets", ERROR, f"cannot read {kind} {schema}.targets: {str(exc.orig).strip().splitlines()[0]}")]


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:2])
    return f"{len(names)} configured events ({shown}, …)" if len(names) > 2 else f"event {shown}"


def _verdict(name: str, cfg: MetricConfig, src: Source, present: Source, broken: dict[str, str],
             missing_events: dict[str, list[str]]) -> MetricVerdict:
    """`src`: the usable tables; `present`: every table that exists, usable or not (a broken one
    makes a metric unable to run, never off)."""
    needs = REGISTRY[name].needs(cfg)
    ready = readiness(needs, cfg, present)
    if not ready.runs:
        return MetricVerdict(name, False, ready.reason, off=ready.state == IS_OFF, hint=ready.hint)
    missing = needs.missing(src)
    reasons = [broken[t] for t in missing if t in broken]
    if not missing and missing_events.get(name):
        reasons.append(f"{_names(missing_events[name])} not in events_dict")
    notes = tuple(needs.notes(src))
    if "experiments" in missing_events and any("events" in o.tables for o in needs.optional):
        notes += (f"experiment {_names(missing_events['experiments'])} not in events_dict, so not excluded",)
    return MetricVerdict(name, not reasons, "; ".join(reasons), notes)
