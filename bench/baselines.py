"""Is today normal? The detector of DESIGN section 8 against anomalies injected on known days.

    python -m bench.baselines [--months 6] [--injections 48] [--leads-per-day 300] [--seed 42]

1. A seeded dataset (bench.datasets: a fixed daily volume over months x 30 days plus the 8 weeks
   of warm-up the first evaluated day's baseline reads), kept in Postgres for the next run.
2. Clean run: `metrics.baselines.daily_baselines` for every day of the evaluated months, on the
   data as seeded: every flag there is a false alarm.
3. Injected run: anomalies (bench.anomalies: drops and spikes of 30-100% in new payers, revenue,
   one channel's sessions, one pipeline's breaches) on known days, spaced at least 3 days apart,
   all in one transaction, the detector run over every day again, then rolled back.
4. Per checked number: recall (all magnitudes, >= 50%, 30%), precision on the injected run, and
   false alarms per 30 days on the clean run, for the detector as shipped (spread pooled over 56
   days), next to DESIGN section 8 to the letter (the 8 values' own MAD) and the naive rule "more
   than 30% off D-7" (a change from 0 counts as off), the last two computed from the same daily
   values (the detector also runs over the 8 weeks before the evaluated months, for those values).

Scoring: a flag of a labelled number on its injected day is a hit; a flag on a day without an
injection in the same metric is a false alarm; a flag on a day whose injection in the same metric
targets another number (revenue when payers were removed) is collateral and neither.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import date, timedelta

from bench import anomalies as inj_mod
from bench.datasets import REPORT_DAY, DatasetSpec, ensure
from bench.report import machine_info
from db.engine import database_url, make_engine
from db.settings import load_settings
from db.source import inspect_source
from db.state import migrate
from metrics.baselines import WEEKS, Baseline, band, daily_baselines, verdict
from metrics.channels import channel_sql
from metrics.config import load_config
from metrics.day import ReportDay

FAMILY = {"payers": "new_payers", "revenue": "new_payers", "sessions": "attribution", "breaches": "hanging"}


def run_detector(engine, schema, state, cfg, tz, days, injections=()):
    """{(day, target): Baseline} for every day, with the injections applied (then rolled back)."""
    out: dict[tuple[date, str], Baseline] = {}
    applied = []
    with engine.connect() as conn:
        tx = conn.begin()
        src = inspect_source(conn, schema, state)
        channel_of = channel_sql(cfg.attribution, "s.ch_source", "s.ch_medium")
        for i in injections:
            if i.kind == "payers":
                n = inj_mod.payers(conn, src, i)
            elif i.kind == "revenue":
                n = inj_mod.revenue(conn, src, i)
            elif i.kind == "sessions":
                n = inj_mod.sessions(conn, src, cfg, i, channel_of)
            else:
                n = inj_mod.breaches(conn, src, cfg, i)
            applied.append((i, n))
        began = time.perf_counter()
        for d in days:
            for b in daily_baselines(conn, src, cfg, ReportDay(d, tz)):
                out[d, b.target] = b
        took = time.perf_counter() - began
        tx.rollback() if injections else tx.commit()  # the clean run keeps the sessions it built
    return out, applied, took / len(days)


def plan(days: list[date], n: int, channel: str, pipeline: str, tz: str, seed: int) -> list[inj_mod.Injection]:
    """n injections on days at least 3 apart; every (kind, magnitude, direction) in turn, in a
    shuffled order, so no kind lands on the same weekday by construction."""
    rng = random.Random(seed)
    free, chosen = list(days), []
    while free and len(chosen) < n:
        d = rng.choice(free)
        chosen.append(d)
        free = [x for x in free if abs((x - d).days) >= 3]
    labels = {"payers": ("new_payers", "new_payer_revenue"), "revenue": ("revenue", "payments"),
              "sessions": (f"sessions.{channel}",), "breaches": (f"breached.{pipeline}",)}
    combos = [(k, m, d) for k in inj_mod.KINDS for m in inj_mod.MAGNITUDES for d in ("low", "high")]
    order: list[tuple] = []
    while len(order) < len(chosen):
        rng.shuffle(combos)
        order += combos
    return [inj_mod.Injection(ReportDay(d, tz), kind, direction, m, labels[kind])
            for d, (kind, m, direction) in zip(sorted(chosen), order, strict=False)]


def band_flag(res: dict, d: date, target: str) -> bool:
    """The detector as shipped (metrics.baselines.daily_baselines)."""
    b = res.get((d, target))
    return b is not None and b.direction is not None


def section8_flag(res: dict, d: date, target: str) -> bool:
    """DESIGN section 8 to the letter (the spread from the 8 values' own MAD), from the same
    recorded daily values: what the pooled spread is measured against."""
    b = res.get((d, target))
    if b is None or b.value is None:
        return False
    hist = [res.get((d - timedelta(days=7 * k), target)) for k in range(1, WEEKS + 1)]
    if b.is_rate:
        return b.direction is not None  # rates are not pooled: the shipped verdict is section 8's
    return verdict(b.value, band([h.value if h else None for h in hist])) is not None


def naive_flag(res: dict, d: date, target: str) -> bool:
    now, before = res.get((d, target)), res.get((d - timedelta(days=7), target))
    if now is None or before is None or now.value is None or before.value is None:
        return False
    if before.value == 0:
        return now.value != 0
    return abs(now.value - before.value) / abs(before.value) > 0.3


def score(clean: dict, dirty: dict, days: list[date], injections, targets: list[str]) -> list[dict]:
    months = len(days) / 30
    rows = []
    for t in targets:
        hit = {i.day.day: i for i in injections if t in i.targets}
        family = next(b.metric for (d, tt), b in clean.items() if tt == t)
        collateral = {i.day.day for i in injections if t not in i.targets and FAMILY[i.kind] == family}
        row = {"target": t, "injected": len(hit)}
        for name, flag in (("band", band_flag), ("s8", section8_flag), ("naive", naive_flag)):
            flags = {d for d in days if flag(dirty, d, t)}
            tp = flags & set(hit)
            fp = flags - set(hit) - collateral
            big = [d for d, i in hit.items() if i.magnitude >= 0.5]
            small = [d for d, i in hit.items() if i.magnitude < 0.5]
            row[name] = {
                "recall": len(tp) / len(hit) if hit else None,
                "recall50": len(tp & set(big)) / len(big) if big else None,
                "recall30": len(tp & set(small)) / len(small) if small else None,
                "precision": len(tp) / (len(tp) + len(fp)) if tp or fp else None,
                "fa_month": sum(1 for d in days if flag(clean, d, t)) / months,
            }
        rows.append(row)
    return rows


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


METHODS = (("band", "detector (pooled spread)"), ("s8", "section 8 as written"), ("naive", "naive ±30% vs D-7"))


def table(rows: list[dict]) -> str:
    head = ("| number | method | injected | recall | recall ≥50% | recall 30% | precision "
            "| false alarms / 30 d (clean) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        for key, label in METHODS:
            b = r[key]
            lines.append(f"| {r['target']} | {label} | {r['injected']} | {fmt(b['recall'])} | {fmt(b['recall50'])} | "
                         f"{fmt(b['recall30'])} | {fmt(b['precision'])} | {fmt(b['fa_month'], 2)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.baselines", description=__doc__.split("\n\n")[0])
    p.add_argument("--months", type=int, default=6, help="months of days evaluated (30 days each)")
    p.add_argument("--injections", type=int, default=48)
    p.add_argument("--leads-per-day", type=int, default=300)
    p.add_argument("--web-per-day", type=int, default=3000)
    p.add_argument("--sends-per-day", type=int, default=300)
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--seed", type=int, default=42, help="the injection schedule's")
    p.add_argument("--dump", help="pickle the daily results here (for variants computed offline)")
    args = p.parse_args(argv)

    # DATABASE_URL as every command reads it, else the embedded Postgres (not a guessed TCP server)
    engine = make_engine(database_url(load_settings()), "UTC")
    evaluated = args.months * 30
    spec = DatasetSpec(months=math.ceil((evaluated + 7 * WEEKS) / 30), leads_per_day=args.leads_per_day,
                       web_per_day=args.web_per_day, sends_per_day=args.sends_per_day)
    ds = ensure(engine, spec, progress=True)
    state = spec.schema + "_baselines"
    migrate(engine, state)
    cfg = load_config()
    days = [REPORT_DAY - timedelta(days=evaluated - 1 - i) for i in range(evaluated)]
    # the 8 weeks before: values only (naive reads D-7, section 8 offline D-7 ... D-56)
    with_week_before = [days[0] - timedelta(days=7 * WEEKS - i) for i in range(7 * WEEKS)] + days

    clean, _, per_day = run_detector(engine, spec.schema, state, cfg, args.timezone, with_week_before)
    medians = {}
    for (d, t), b in clean.items():
        if d in days and b.value is not None:
            medians.setdefault(t, []).append(b.value)
    med = {t: statistics.median(v) for t, v in medians.items()}
    channel = max((t for t in med if t.startswith("sessions.") and t not in ("sessions.Direct",)), key=med.get)
    pipeline = max((t for t in med if t.startswith("breached.")), key=med.get)
    injections = plan(days[7:], args.injections, channel.split(".", 1)[1], pipeline.split(".", 1)[1],
                      args.timezone, args.seed)
    dirty, applied, _ = run_detector(engine, spec.schema, state, cfg, args.timezone, with_week_before, injections)

    if args.dump:
        import pickle

        with open(args.dump, "wb") as f:
            pickle.dump({"clean": clean, "dirty": dirty, "injections": injections, "days": days}, f)
    labelled = ["new_payers", "new_payer_revenue", "revenue", "payments", channel, pipeline]
    rows = score(clean, dirty, days, injections, labelled)
    every = sorted({t for (_, t) in clean})
    fa = [sum(1 for d in days if band_flag(clean, d, t)) / (evaluated / 30) for t in every]
    fa8 = [sum(1 for d in days if section8_flag(clean, d, t)) / (evaluated / 30) for t in every]
    counts = [t for t in every if not t.startswith(("block_share.", "conversions."))]
    naive_fa = [sum(1 for d in days if naive_flag(clean, d, t)) / (evaluated / 30) for t in counts]

    info = machine_info(engine)
    print(f"\n`python -m bench.baselines {' '.join(argv if argv is not None else sys.argv[1:])}` on {info['cpus']} "
          f"cores (shared, noisy), {info['postgres']}")
    print(f"dataset {spec.schema}: {spec.days} days, {spec.leads_per_day} leads/day, rows "
          + ", ".join(f"{k} {v:,}" for k, v in ds.rows.items()))
    print(f"evaluated {days[0]} .. {days[-1]} ({evaluated} days); median per day: "
          + ", ".join(f"{t} {fmt(med[t], 1)}" for t in labelled))
    print(f"detector: {per_day:.2f} s per day (all metrics, clean run)")
    kinds = {}
    for i, n in applied:
        kinds.setdefault(i.kind, []).append(f"{i.day.day:%m-%d} {'-' if i.direction == 'low' else '+'}{i.magnitude:.0%} ({n})")
    for k, v in kinds.items():
        print(f"  injected {k}: " + ", ".join(v))
    print()
    print(table(rows))
    print(f"\nall {len(every)} checked numbers on the clean run: false alarms per 30 days, band: mean "
          f"{statistics.mean(fa):.2f}, max {max(fa):.2f} ({every[fa.index(max(fa))]}); section 8: mean "
          f"{statistics.mean(fa8):.2f}, max {max(fa8):.2f} ({every[fa8.index(max(fa8))]}); naive (counts): mean "
          f"{statistics.mean(naive_fa):.2f}, max {max(naive_fa):.2f}")
    missed = [f"{i.day.day} {i.kind} {i.direction} {i.magnitude:.0%}" for i in injections
              if not any(band_flag(dirty, i.day.day, t) for t in i.targets)]
    print("missed: " + ("; ".join(missed) or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
