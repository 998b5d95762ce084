"""Is today normal? The detector of docs/normal.md next to today's (section 8), on businesses of
several shapes, with one-day changes, a conversion incident and a sustained drift.

    python -m bench.baselines [--months 6] [--leads-per-day 300] [--starts 4] [--seed 42]

1. A seeded dataset (bench.datasets: a fixed daily volume over the evaluated months plus the 12
   weeks the first evaluated day's model reads), kept in Postgres for the next run; its session
   store built for every day. One SQL query per metric reads every checked number over the whole
   range (metrics.baselines.series with a long window), and every payment for the scenarios.
2. Scenarios (bench.scenarios: the seeded numbers thinned, with a weekly rhythm): flat, steady
   growth (+50% over 8 weeks), decline (-25% over 8 weeks), small (~5 payments a day). Per
   scenario and detector: days per 30 with anything in the block (all numbers together), and the
   numbers that filled it.
3. One-day changes on every evaluated day of the flat and the growth scenario, one at a time:
   payments or new payers lost or doubled by 30, 50, 75, 100%, one channel's sessions, one
   pipeline's breaches. Recall: the change's number in the block on its day, in its direction,
   by size, direction and the number's usual level.
4. Sustained: a -25% drift of everything from a start day, and a conversion incident (one funnel
   step halved for 14 days in the database, traffic unchanged: bench.anomalies), each from
   `--starts` start days; days from the start to the first block naming an affected number.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from datetime import date, timedelta

from bench import detect, scenarios
from bench.anomalies import STEP, conversion_incident
from bench.datasets import REPORT_DAY, DatasetSpec, ensure
from bench.report import machine_info
from db.engine import database_url, make_engine
from db.settings import load_settings
from db.source import inspect_source
from db.state import migrate
from metrics.config import load_config
from metrics.day import ReportDay
from metrics.detector.check import HISTORY_DAYS
from metrics.sessions import SessionStore
from metrics.sessions.backfill import day_range, prepare
from reports.registry import names, series_of

SHAPES = ("flat", "growth", "decline", "small")


def checked_series(conn, src, cfg, tz: str, what: tuple) -> list:
    """(metrics or None for all, days back): their checked numbers from REPORT_DAY back."""
    metrics, back = what
    day = ReportDay(REPORT_DAY, tz)
    return [s for fn in series_of(metrics or names()).values() for s in fn(conn, src, cfg, day, None, back)]


def extract(engine, schema: str, state: str, cfg, tz: str, first: date, metrics=None):
    with engine.begin() as conn:
        src = inspect_source(conn, schema, state)
        return checked_series(conn, src, cfg, tz, (metrics, (REPORT_DAY - first).days))


def with_incident(engine, schema, state, cfg, tz, first, start):
    """The funnel and hanging series with the incident from `start` (rolled back)."""
    with engine.connect() as conn:
        tx = conn.begin()
        src = inspect_source(conn, schema, state)
        n = conversion_incident(conn, src, start, tz)
        got = checked_series(conn, src, cfg, tz, (("funnel", "hanging"), (REPORT_DAY - first).days))
        tx.rollback()
    return got, n


def replace_series(base, new):
    by = {detect.s_target(s): s for s in new}
    return [by.get(detect.s_target(s), s) for s in base]


def per30(days_with: int, days: int) -> float:
    return days_with / days * 30


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.baselines", description=__doc__.split("\n\n")[0])
    p.add_argument("--months", type=int, default=6, help="months of days evaluated (30 days each)")
    p.add_argument("--leads-per-day", type=int, default=300)
    p.add_argument("--web-per-day", type=int, default=3000)
    p.add_argument("--sends-per-day", type=int, default=300)
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--starts", type=int, default=4, help="start days of the drift and of the incident")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)

    # DATABASE_URL as every command reads it, else the embedded Postgres (not a guessed TCP server)
    engine = make_engine(database_url(load_settings()), "UTC")
    evaluated = args.months * 30
    spec = DatasetSpec(months=math.ceil((evaluated + HISTORY_DAYS) / 30), leads_per_day=args.leads_per_day,
                       web_per_day=args.web_per_day, sends_per_day=args.sends_per_day)
    ds = ensure(engine, spec, progress=True)
    state = spec.schema + "_baselines"
    migrate(engine, state)
    cfg, tz = load_config(), args.timezone
    days = [REPORT_DAY - timedelta(days=evaluated - 1 - i) for i in range(evaluated)]
    first = spec.start
    with engine.connect() as conn:
        store = SessionStore(inspect_source(conn, spec.schema, state), cfg.attribution, tz)
    prepare(engine, store, day_range(first, REPORT_DAY))
    began = time.perf_counter()
    base = extract(engine, spec.schema, state, cfg, tz, first)
    took_sql = time.perf_counter() - began
    with engine.begin() as conn:
        pay = scenarios.load_payments(conn, inspect_source(conn, spec.schema, state), tz)

    info = machine_info(engine)
    print(f"\n`python -m bench.baselines {' '.join(argv if argv is not None else sys.argv[1:])}` on {info['cpus']} "
          f"cores (shared), {info['postgres']}; load average {os.getloadavg()[0]:.1f}")
    print(f"dataset {spec.schema}: {spec.days} days, {spec.leads_per_day} leads/day, rows "
          + ", ".join(f"{k} {v:,}" for k, v in ds.rows.items()))
    print(f"evaluated {days[0]} .. {days[-1]} ({evaluated} days), {len(base)} checked numbers; "
          f"series of {(REPORT_DAY - first).days + 1} days read in {took_sql:.1f} s")

    evaluated_days = set(days)
    payments_a_day = statistics.median(v for d, v in next(
        s for s in base if s.field == "payments").values.items() if d in evaluated_days)
    shapes = {}
    for i, shape in enumerate(SHAPES):
        f = scenarios.level(shape, first, REPORT_DAY, small=5 / payments_a_day)
        keep = scenarios.kept(pay, f, args.seed + i)
        shapes[shape] = (scenarios.thin(base, pay, keep, f, args.seed + i), keep, f)

    # 2. clean scenarios
    print("\n| scenario | payments / day (median) | detector | days per 30 with anything in the block | "
          "numbers that filled it (days) |\n|---|---|---|---|---|")
    clean = {}
    t0 = time.perf_counter()
    for shape in SHAPES:
        series = shapes[shape][0]
        res = detect.block_days(series, days)
        clean[shape] = res
        level = statistics.median(next(s for s in series if s.field == "payments").values.get(d, 0) for d in days)
        for key, label in (("new", "section 12 (new)"), ("old", "section 8 (today's)")):
            filled = [d for d in days if res[key][d]]
            top = _top(res[key], days)
            print(f"| {shape} | {level:.0f} | {label} | {per30(len(filled), len(days)):.2f} | {top} |")
    per_day = (time.perf_counter() - t0) / (len(SHAPES) * len(days))
    print(f"\n(both detectors, all numbers: {per_day * 1000:.0f} ms per day of evaluation in Python)")

    # 3. one-day changes
    channel = max((s for s in base if s.metric == "attribution" and s.key and s.key != "Direct"),
                  key=lambda s: sum(s.values.values())).key
    pipeline = max((s for s in base if s.field == "breached_today"), key=lambda s: sum(s.values.values())).key
    # a spike of new payers is a spike of payments too: any of the four money numbers tells it
    labels = {"payments": ("payments", "revenue"), "payers": ("new_payers", "new_payer_revenue", "payments", "revenue"),
              "sessions": (f"sessions.{channel}",), "breaches": (f"breached.{pipeline}", f"close_rate.{pipeline}")}
    print(f"\nOne-day changes, one at a time on each of the {len(days)} days (sessions: {channel}; breaches: "
          f"{pipeline}); recall = the change's number in the block on its day, in its direction (new / today's)")
    print("\n| scenario | change | usual level | changes | ±30% | ≥50% (50, 75, 100%) | drops ≥50% | spikes ≥50% |"
          "\n|---|---|---|---|---|---|---|---|")
    for shape in ("flat", "growth"):
        _recall(shape, shapes[shape], clean[shape], pay, days, labels, channel, pipeline, args.seed)

    # 4. sustained shifts
    starts = [days[14 + i * (len(days) - 35) // max(args.starts - 1, 1)] for i in range(args.starts)]
    print(f"\nSustained shifts from {', '.join(str(s) for s in starts)}: days from the start to the first block "
          "naming an affected number (0: on the first day)")
    print("| shift | detector | days to detect per start | blocks in the 7 days before |\n|---|---|---|---|")
    _, _, f_flat = shapes["flat"]
    for key in ("new", "old"):
        got, before = [], 0
        for j, s0 in enumerate(starts):
            f = scenarios.level("drift", first, REPORT_DAY, start=s0)
            drifted = scenarios.thin(base, pay, scenarios.kept(pay, f, args.seed + 10 + j), f, args.seed + 10 + j)
            got.append(detect.first_detection(drifted, s0, 14, None, "low", old=key == "old"))
            before += sum(1 for k in range(1, 8) if clean["flat"][key][s0 - timedelta(days=k)])
        print(f"| -25% drift of everything | {key} | {_fmt_days(got)} | {before} of {7 * len(starts)} |")
    for key in ("new", "old"):
        got, before, rows = [], 0, []
        for j, s0 in enumerate(starts):
            inc, n = with_incident(engine, spec.schema, state, cfg, tz, first, s0)
            hit = scenarios.thin(replace_series(base, inc), pay, shapes["flat"][1], f_flat, args.seed)
            moved = {detect.s_target(s) for s in inc if s.field == "step_conversion" and s.key == STEP}
            moved |= {detect.s_target(s) for s in inc if s.metric == "hanging"}
            got.append(detect.first_detection(hit, s0, 14, moved, None, old=key == "old"))
            before += sum(1 for k in range(1, 8) if clean["flat"][key][s0 - timedelta(days=k)])
            rows.append(n)
        print(f"| conversion incident: «{STEP}» halved for 14 days ({min(rows)}-{max(rows)} events deleted) | "
              f"{key} | {_fmt_days(got)} | {before} of {7 * len(starts)} |")
    return 0


def _fmt_days(got: list) -> str:
    return ", ".join("never" if g is None else str(g) for g in got)


def _top(res: dict, days) -> str:
    count: dict[str, int] = {}
    for d in days:
        for t in set(res[d]):
            count[t] = count.get(t, 0) + 1
    return ", ".join(f"{t} {n}" for t, n in sorted(count.items(), key=lambda x: -x[1])[:4]) or "–"


def _recall(shape, scenario, clean, pay, days, labels, channel, pipeline, seed) -> None:
    series, keep, _ = scenario
    hits: dict[tuple, list[int]] = {}
    old_hits: dict[tuple, list[int]] = {}
    for i, d in enumerate(days):
        base_day = clean["new_all"][d]
        level = {b.target: b.expected for b in base_day}
        for kind in scenarios.KINDS:
            for m in scenarios.MAGNITUDES:
                for direction in ("low", "high"):
                    inj = scenarios.Injection(d, kind, direction, m, labels[kind])
                    changed = scenarios.inject(series, pay, keep, inj, channel, pipeline, seed + i)
                    got = detect.rejudge(changed, base_day, d, labels[kind])
                    size = level.get(labels[kind][0]) or 0
                    bucket = (kind, m, direction, "≥ 20 a day" if size >= 20 else "< 20 a day")
                    hits.setdefault(bucket, []).append(detect.detected(detect.new_block(got), labels[kind], direction))
                    old = detect.old_day([s for s in changed if detect.s_target(s) in labels[kind]], d)
                    old_hits.setdefault(bucket, []).append(detect.detected(detect.old_block(old), labels[kind], direction))

    def rate(h: dict, kind: str, sizes, directions, band) -> tuple[str, int]:
        got = [x for (k, m, dr, b), xs in h.items() for x in xs
               if k == kind and m in sizes and dr in directions and b == band]
        return ("–" if not got else f"{sum(got) / len(got):.2f}"), len(got)

    for kind in scenarios.KINDS:
        for band in ("≥ 20 a day", "< 20 a day"):
            n = rate(hits, kind, scenarios.MAGNITUDES, ("low", "high"), band)[1]
            if not n:
                continue
            cells = []
            for sizes, dirs in (((0.3,), ("low", "high")), ((0.5, 0.75, 1.0), ("low", "high")),
                                ((0.5, 0.75, 1.0), ("low",)), ((0.5, 0.75, 1.0), ("high",))):
                cells.append(f"{rate(hits, kind, sizes, dirs, band)[0]} / {rate(old_hits, kind, sizes, dirs, band)[0]}")
            print(f"| {shape} | {kind} | {band} | {n} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    raise SystemExit(main())
