"""The plan corpus's flags and its markdown tables (bench/plans.py's records in, text out).

Two flags, on the definitions of bench.plan_days:
- **over 10×**: the statement's largest node by loops × rows (returned and removed by filters,
  bench.plan_capture) exceeds 10 × the read rows, the rows of the days it reads in the tables it
  scans: issue 23's target is that no statement has one. A statement that scans only tables
  without a time column has no read rows and is not judged. The tables also count those whose
  node reaches MIN_WORK rows: on a 30k-row shop a nested loop over a seq scan of a 700-row table
  is over 10× and costs nothing.
- **growth**: from one size of a shape to the next (same variant, same statement), its work (loops
  × rows summed over all its nodes) grew more than twice as fast as the report day's rows of the
  tables it scans (work ratio > 2 × day-rows ratio), counted only when the larger size's work is
  at least 10,000 rows: a statement whose cost follows history or the square of the day, not the day.
"""
from __future__ import annotations

from collections import defaultdict

OVER = 10
GROWTH = 2.0
MIN_WORK = 10_000


def over(rec: dict) -> bool:
    return rec["read_rows"] > 0 and rec["largest"]["work"] > OVER * rec["read_rows"]


def big(rec: dict) -> bool:
    """Over 10× with a node of at least MIN_WORK rows: not a tiny table's scan repeated."""
    return over(rec) and rec["largest"]["work"] >= MIN_WORK


def ratio(rec: dict) -> float | None:
    return rec["largest"]["work"] / rec["read_rows"] if rec["read_rows"] else None


def statement(rec: dict) -> tuple:
    return rec["stage"], rec["fingerprint"]


def growth(records: list[dict]) -> dict[int, str]:
    """id(record) -> "work ×a vs day rows ×b" for each record flagged against the size before."""
    sizes: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r["size"] not in sizes[r["shape"]]:
            sizes[r["shape"]].append(r["size"])
    found = {(r["shape"], r["size"], r["variant"], *statement(r)): r for r in records}
    flags = {}
    for r in records:
        order = sizes[r["shape"]]
        i = order.index(r["size"])
        prev = found.get((r["shape"], order[i - 1], r["variant"], *statement(r))) if i else None
        if prev is None or r["work"] < MIN_WORK or not prev["work"] or not prev["day_rows"] or not r["day_rows"]:
            continue
        work, days = r["work"] / prev["work"], r["day_rows"] / prev["day_rows"]
        if work > GROWTH * days:
            flags[id(r)] = f"work ×{work:,.1f} vs day rows ×{days:,.1f} ({prev['size']}→{r['size']})"
    return flags


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _node(rec: dict) -> str:
    n = rec["largest"]
    where = f" {n['relation']}" if n["relation"] else ""
    return f"{n['node_type']}{where}: {n['loops']:,} × {n['rows']:,.0f} = {_n(n['work'])}"


def summary(records: list[dict], grown: dict[int, str]) -> list[str]:
    cases: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        cases[(r["shape"], r["size"], r["variant"])].append(r)
    lines = ["| shape | size | variant | statements | ms (sum of medians) | worst loops × rows / read rows | over 10× (of them ≥ 10k rows) | growth |",
             "|---|---|---|---:|---:|---|---:|---:|"]
    for (shape, size, variant), recs in cases.items():
        judged = [r for r in recs if ratio(r) is not None]
        worst = max(judged, key=ratio, default=None)
        text = f"{ratio(worst):,.1f} ({worst['stage']}: {worst['hint']})" if worst else "-"
        lines.append(f"| {shape} | {size} | {variant} | {len(recs)} | {_n(sum(r['ms'] for r in recs))} | {text} | "
                     f"{sum(over(r) for r in recs)} ({sum(big(r) for r in recs)}) | "
                     f"{sum(id(r) in grown for r in recs)} |")
    return lines


def detail(records: list[dict], grown: dict[int, str], top: int) -> list[str]:
    """The `top` slowest statements of each case and every flagged one whose node reaches
    MIN_WORK rows or that grew (a tiny table's over 10× is counted in the summary, kept in the JSON)."""
    cases: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        cases[(r["shape"], r["size"], r["variant"])].append(r)
    lines = [("| shape | size | variant | statement | ms | rows | largest node: loops × rows | day rows | "
             "read rows (days) | ratio | flags |"),
             "|---|---|---|---|---:|---:|---|---:|---:|---:|---|"]
    for recs in cases.values():
        slow = {id(r) for r in sorted(recs, key=lambda r: -r["ms"])[:top]}
        for r in recs:
            flags = [f for f in ("over 10×" if over(r) else "", grown.get(id(r), "")) if f]
            if id(r) not in slow and not big(r) and id(r) not in grown:
                continue
            count = f" (×{r['count']})" if r["count"] > 1 else ""
            ratio_text = f"{ratio(r):,.1f}" if ratio(r) is not None else "-"
            lines.append(
                f"| {r['shape']} | {r['size']} | {r['variant']} | {r['stage']}: {r['hint']}{count} | "
                f"{r['ms']:,.1f} | {_n(r['rows'])} | {_node(r)} | {_n(r['day_rows'])} | "
                f"{_n(r['read_rows'])} ({r['read_first'][5:]}–{r['read_last'][5:]}) | {ratio_text} | "
                f"{'; '.join(flags)} |")
    return lines


def render(result: dict, top: int = 2) -> str:
    records = result["records"]
    grown = growth(records)
    flagged, large = sum(over(r) for r in records), sum(big(r) for r in records)
    target = ("holds: no statement has a node whose loops × rows exceeds 10 × the rows of the days it reads"
              if not flagged else f"missed: {flagged} statement(s) with a node over 10 × the rows of the days they "
              f"read ({large} of them with a node of at least {MIN_WORK:,} rows)")
    n_failed = len(result.get("failures", []))
    stopped = f"; not judged: {n_failed} case(s) stopped by the statement timeout (below)" if n_failed else ""
    m = result["machine"]
    commands = " and ".join(f"`python -m bench.plans {' '.join(a)}`" for a in result.get("argvs", [result["argv"]]))
    return "\n".join([
        (f"{commands}: report day {result['date']}; {m['cpus']} CPUs "
        f"({m['cpu']}), {m['ram_gb']} GB RAM, {m['postgres']}; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in result['load'])}."),
        "", f"Target: {target}{stopped}; growth flags: {len(grown)}.", "",
        *summary(records, grown), "", *failed(result.get("failures", [])), *detail(records, grown, top),
    ])


def failed(failures: list[dict]) -> list[str]:
    """Cases a statement timeout stopped (bench.plans --timeout): no plan, only where it was."""
    if not failures:
        return []
    return ["| shape | size | variant | stopped in | after | why |", "|---|---|---|---|---:|---|",
            *(f"| {f['shape']} | {f['size']} | {f['variant']} | {f['stage']} | {f['seconds']} s | {f['error']} |"
              for f in failures), ""]
