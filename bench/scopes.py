"""Scoped digests against the company-wide one, on the same data (issue 13, item 6).

    salespulse seed --users 20000 --days 90 --start 2026-08-01        # SOURCE_SCHEMA, once
    python -m bench.scopes --date 2026-10-29 [--repeat 3] [--scope TAG ...]

Every metric of the digest is timed alone (reports.digest.compute_metrics with one name, its own
connection and transaction, as the digest runs it), for the company and for each scope, each
`--repeat` times in turn (company, scope 1, scope 2, ..., again), keeping the fastest: the
machine is shared, so the minimum is the least disturbed run. The attribution session store is
brought up to date once before timing (a daily bot's store is; its one-off build is not what a
scope changes). Charts are left out: they draw the same number of images whatever the scope.
Prints a markdown table with the command and the machine.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date

from bench.report import machine_info
from db.engine import engine_from_settings
from db.settings import load_settings
from db.state import migrate
from metrics.config import load_config
from metrics.day import ReportDay
from metrics.scope import parse_scope
from reports.digest import compute_metrics, count_scope_users, read_source
from reports.registry import names
from reports.request import ReportRequest

METRICS = names()

DEFAULT_SCOPES = ("team:north", "manager:ivanov", "manager:sokolov", "team:north & region:msk", "vip")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.scopes", description=__doc__.split("\n\n")[0])
    p.add_argument("--date", required=True, help="report day YYYY-MM-DD")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--scope", action="append", help=f"repeatable; default {', '.join(DEFAULT_SCOPES)}")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    engine = engine_from_settings(settings)
    cfg = load_config(settings.metrics_config)
    day = ReportDay(date.fromisoformat(args.date), args.timezone)
    schema, state = settings.source_schema, settings.state_schema
    migrate(engine, state)
    scopes = [None, *(parse_scope(s) for s in (args.scope or DEFAULT_SCOPES))]

    began = time.perf_counter()
    def request(names: tuple[str, ...], scope=None) -> ReportRequest:
        return ReportRequest(day, scope=scope, metrics=names, source_schema=schema, state_schema=state)

    src = read_source(engine, request(METRICS))
    compute_metrics(engine, src, cfg, request(("attribution",)))  # the store, up to date
    print(f"session store brought up to date in {time.perf_counter() - began:.1f} s", file=sys.stderr)

    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):
        for scope in scopes:
            for name in METRICS:
                t0 = time.perf_counter()
                out = compute_metrics(engine, src, cfg, request((name,), scope))
                wall = time.perf_counter() - t0
                if out[name].skipped:
                    raise SystemExit(f"{name} skipped for {scope}: {out[name].skipped}")
                key = (str(scope) if scope else "(company)", name)
                best[key] = min(best.get(key, wall), wall)

    users = {str(s): count_scope_users(engine, src, s) for s in scopes if s}
    m = machine_info(engine)
    lines = [
        (f"`python -m bench.scopes --date {args.date} --timezone {args.timezone} --repeat {args.repeat}` "
        f"on schema `{schema}`; {m['cpus']} CPUs ({m['cpu']}, shared with other work: noisy), "
        f"{m['ram_gb']} GB RAM, {m['postgres']}. Wall seconds, fastest of {args.repeat}."),
        "",
        "| scope | users | " + " | ".join(METRICS) + " | total |",
        "|---|---:|" + "---:|" * (len(METRICS) + 1),
    ]
    for scope in scopes:
        label = str(scope) if scope else "(company)"
        times = [best[(label, n)] for n in METRICS]
        count = users.get(label, "all")
        lines.append(f"| {label} | {count} | " + " | ".join(f"{t:.2f}" for t in times) + f" | {sum(times):.2f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
