"""The benchmark's output: the markdown table, the targets, the plot, the digest/naive comparison."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

from bench.datasets import DatasetSpec
from bench.measure import Run
from reports.registry import names

METRICS = names()  # the registry's, in digest order


@dataclass(frozen=True)
class SizeResult:
    spec: DatasetSpec
    rows: dict[str, int]
    bytes: int
    seeded_s: float
    sessions_build: Run | None  # None: the session store was built by an earlier run
    sessions: Run
    digest: Run
    metrics: dict[str, Run]
    naive: Run | None
    match: dict[str, list[str]] = field(default_factory=dict)  # metric -> differences (empty: MATCH)


def machine_info(engine) -> dict:
    with engine.connect() as conn:
        version = conn.exec_driver_sql("show server_version").scalar()
        shared = conn.exec_driver_sql("show shared_buffers").scalar()
        work_mem = conn.exec_driver_sql("show work_mem").scalar()
        url = conn.execute(sa.text("select inet_server_addr()")).scalar()
    return {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgres": f"PostgreSQL {version} (shared_buffers {shared}, work_mem {work_mem}, "
                    f"{'local socket' if url is None else url})",
        "python": platform.python_version(),
    }


# ---- digest vs naive --------------------------------------------------------------------------


def _diff(path: str, a, b, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(f"{path}.{k}", a.get(k), b.get(k), out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a - b) > 0.011:  # money and hours are rounded to 2 decimals on both sides
            out.append(f"{path}: digest {a} != naive {b}")
    elif a != b:
        out.append(f"{path}: digest {a!r} != naive {b!r}")


def compare(digest: dict, naive: dict) -> dict[str, list[str]]:
    """Per metric the naive approach computes: the list of differing numbers (empty = MATCH)."""
    out: dict[str, list[str]] = {}
    for metric, theirs in naive.items():
        if digest.get(metric) is None:
            out[metric] = ["digest has no result (metric n/a)"]
            continue
        diffs: list[str] = []
        _diff(metric, digest[metric], theirs, diffs)
        out[metric] = diffs
    return out


def match_word(r: SizeResult) -> str:
    if not r.match:
        return "n/a"
    return ", ".join(f"{m} {'MATCH' if not d else 'MISMATCH'}" for m, d in r.match.items())


# ---- table ------------------------------------------------------------------------------------


def _s(run: Run | None, attr: str = "wall_s", fmt: str = "{:.2f}") -> str:
    if run is None:
        return "–"
    value = getattr(run, attr)
    return "n/a" if value is None or (run.na and attr == "wall_s") else fmt.format(value)


def _speedup(r: SizeResult) -> float | None:
    if r.naive is None or r.naive.wall_s is None or not r.digest.wall_s:
        return None
    return r.naive.wall_s / r.digest.wall_s


def _same_three(r: SizeResult) -> float | None:
    """The digest's time for just what the naive approach computes: hanging + new payers + funnel."""
    runs = [r.metrics.get(m) for m in ("hanging", "new_payers", "funnel")]
    if any(x is None or x.wall_s is None or x.na for x in runs):
        return None
    return sum(x.wall_s for x in runs)


def _speedup3(r: SizeResult) -> float | None:
    three = _same_three(r)
    if r.naive is None or r.naive.wall_s is None or not three:
        return None
    return r.naive.wall_s / three


def table(results: list[SizeResult]) -> str:
    head = ["history", "events rows", "web rows", "digest wall s", "digest CPU s", "digest peak RSS MB",
            *[f"{m} s" for m in METRICS], "sessions update s", "session store s", "buffers hit+read (read)", "tuples read",
            "naive wall s", "naive peak RSS MB", "speed-up (full digest)",
            "speed-up (same 3 metrics)", "digest = naive"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        sp = _speedup(r)
        cells = [
            f"{r.spec.months} mo ({r.spec.days} d)", f"{r.rows.get('events', 0):,}", f"{r.rows.get('web_events', 0):,}",
            _s(r.digest), _s(r.digest, "cpu_s"), _s(r.digest, "peak_rss_mb", "{:.0f}"),
            *[_s(r.metrics.get(m)) for m in METRICS],
            _s(r.sessions),
            "–" if r.sessions_build is None else f"{_s(r.sessions_build)} ({r.sessions_build.kind})",
            f"{r.digest.buffers:,} ({r.digest.blks_read:,})", f"{r.digest.tuples:,}",
            _s(r.naive), _s(r.naive, "peak_rss_mb", "{:.0f}"),
            "–" if sp is None else f"{sp:.1f}x",
            "–" if _speedup3(r) is None else f"{_speedup3(r):.1f}x", match_word(r),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- targets ----------------------------------------------------------------------------------


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "MISS")


def targets(results: list[SizeResult]) -> list[str]:
    by = {r.spec.months: r for r in results}
    out = []
    big = by.get(24) or (max(results, key=lambda r: r.spec.months) if results else None)
    if big is not None and big.digest.wall_s is not None:
        label = f"{big.spec.months} months" + ("" if big.spec.months == 24 else " (largest measured; target is 24)")
        out.append(f"- digest at {label}: {big.digest.wall_s:.2f} s < 15 s: {_verdict(big.digest.wall_s < 15)}; "
                   f"peak RSS {big.digest.peak_rss_mb:.0f} MB < 600 MB: {_verdict(big.digest.peak_rss_mb < 600)}")
    r12 = by.get(12)
    sp = _speedup(r12) if r12 else None
    sp3 = _speedup3(r12) if r12 else None
    out.append("- >= 20x faster than naive at 12 months: "
               + ("not measured" if sp is None else f"full digest {sp:.1f}x: {_verdict(sp >= 20)}")
               + ("" if sp3 is None else f"; the same 3 metrics (hanging + new_payers + funnel alone) {sp3:.1f}x: "
                  f"{_verdict(sp3 >= 20)}"))
    small = min(results, key=lambda r: r.spec.months) if results else None
    if small and big and small is not big and small.digest.wall_s and big.digest.wall_s:
        g = big.digest.wall_s / small.digest.wall_s
        out.append(f"- digest time growth {small.spec.months} -> {big.spec.months} months: {g:.2f}x < 1.3x: "
                   f"{_verdict(g < 1.3)}")
    for r in results:
        slow = [f"{m} {x.wall_s:.2f} s" for m, x in r.metrics.items() if x.wall_s is not None and not x.na
                and x.wall_s >= 1]
        na = [m for m, x in r.metrics.items() if x.na]
        out.append(f"- {r.spec.months} months, each metric < 1 s (issue 3): "
                   + ("PASS" if not slow else "MISS: " + ", ".join(slow)) + (f" (n/a: {', '.join(na)})" if na else ""))
        a = r.metrics.get("attribution")
        if a and a.wall_s is not None and not a.na:
            out.append(f"- {r.spec.months} months, attribution day (issue 4): {a.wall_s:.2f} s < 5 s: "
                       f"{_verdict(a.wall_s < 5)}; {a.peak_rss_mb:.0f} MB < 300 MB: {_verdict(a.peak_rss_mb < 300)}; "
                       f"incremental session update {_s(r.sessions)} s < 5 s: "
                       f"{_verdict(r.sessions.wall_s is not None and r.sessions.wall_s < 5)}")
    return out


# ---- plot and files ---------------------------------------------------------------------------


def plot(results: list[SizeResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r.spec.months for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(xs, [r.digest.wall_s for r in results], "o-", label="SalesPulse digest (SQL, one day)")
    if any(r.naive and r.naive.wall_s for r in results):
        ax.plot(xs, [r.naive.wall_s if r.naive else None for r in results], "s--", label="naive: reload all into pandas")
    ax.set_yscale("log")
    ax.set_xlabel("history (months)")
    ax.set_ylabel("wall time for one day's report (s, log)")
    ax.set_xticks(xs)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: list[SizeResult], machine: dict, out: Path, command: str) -> str:
    spec = results[0].spec
    lines = [
        (f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), {machine['ram_gb']} GB RAM, {machine['postgres']}, "
         f"Python {machine['python']}. Shared with other work: timings are noisy."),
        f"Command: `{command}`",
        (f"Daily volume: {spec.leads_per_day:,} new leads, {spec.web_per_day:,} web events, "
         f"{spec.sends_per_day:,} message sends; report day = last day of each dataset."),
        "",
        table(results),
        "",
        ("Buffers: shared-buffer blocks (8 kB) hit + read of the dataset's tables and indexes "
         "(pg_statio_user_tables deltas; read = not in shared buffers). Tuples: seq_tup_read + "
         "idx_tup_fetch deltas (pg_stat_user_tables). CPU: the client process only (Postgres "
         "server CPU is not in it). Session store: how the attribution store was brought up "
         "before the measurements (prime = links + last 7 days; see bench/README.md)."),
        "",
        "Targets:",
        *targets(results),
    ]
    lines += ["", "Where the digest's time goes (largest size; SQL = time inside cursor.execute):"]
    big = max(results, key=lambda r: r.spec.months)
    for name, run in [("digest", big.digest), *big.metrics.items()]:
        if run.wall_s is None:
            continue
        sql_s = run.extra.get("sql_s")
        top = run.extra.get("top_queries") or [{}]
        charts_s = f", charts {run.extra['charts_s']} s" if "charts_s" in run.extra else ""
        lines.append(f"- {name}: {run.wall_s:.2f} s, of which SQL {sql_s} s{charts_s}"
                     + (f", import of scikit-learn {run.extra['import_s']} s (not in wall)" if "import_s" in run.extra else "")
                     + (f"; slowest statement {top[0].get('s')} s: `{top[0].get('sql', '')[:160]}`" if top[0] else ""))
    mism = [f"- {r.spec.months} months: {d}" for r in results for ds in r.match.values() for d in ds[:20]]
    if mism:
        lines += ["", "Mismatches (digest vs naive):", *mism]
    text = "\n".join(lines)
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    plot(results, out / "time_vs_history.png")
    return text


def load_results(path: Path) -> list[SizeResult]:
    """results.json back into SizeResults, to redraw the table and plot without measuring again."""
    import json

    def run(d: dict | None) -> Run | None:
        return None if d is None else Run(**d)

    out = []
    for d in json.loads(path.read_text()):
        out.append(SizeResult(
            spec=DatasetSpec(**d["spec"]), rows=d["rows"], bytes=d["bytes"], seeded_s=d["seeded_s"],
            sessions_build=run(d["sessions_build"]), sessions=run(d["sessions"]), digest=run(d["digest"]),
            metrics={k: run(v) for k, v in d["metrics"].items()}, naive=run(d["naive"]), match=d["match"],
        ))
    return out
