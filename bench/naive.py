"""The notebook approach the benchmark compares against: reload everything into pandas each morning.

`pd.read_sql` of the whole events table (with event names) and the whole payments table, then new
payers (D, D-1, D-7), hanging processes per pipeline and the funnel steps computed in pandas,
following docs/metrics.md literally (not the SQL of metrics/), so the comparison with the digest
is also an independent check of the numbers.
"""
from __future__ import annotations

from datetime import UTC, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from metrics.config import PURCHASE, MetricConfig
from metrics.day import ReportDay


def load(engine: Engine, schema: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All events with their names, and all payments: what a notebook does every morning."""
    with engine.connect() as conn:
        events = pd.read_sql(
            f'select e.user_id, d.description as event, e.happened_at from "{schema}".events e '
            f'join "{schema}".events_dict d on d.id = e.event_id', conn)
        payments = pd.read_sql(
            f'select user_id, transaction_created_at as paid_at, amount from "{schema}".payments', conn)
    events["happened_at"] = pd.to_datetime(events["happened_at"], utc=True)
    payments["paid_at"] = pd.to_datetime(payments["paid_at"], utc=True)
    payments["amount"] = payments["amount"].astype(float)
    return events, payments


def _ts(dt) -> pd.Timestamp:
    return pd.Timestamp(dt.astimezone(UTC))


def new_payers(pay: pd.DataFrame, day: ReportDay) -> dict:
    first = pay.groupby("user_id")["paid_at"].min().rename("first_at")
    pay = pay.join(first, on="user_id")
    out = {}
    for label, shift in (("D", 0), ("D-1", 1), ("D-7", 7)):
        d = day.shifted(-shift)
        lo, hi = _ts(d.start), _ts(d.end)
        on_day = pay[(pay.paid_at >= lo) & (pay.paid_at < hi)]
        new = on_day[(on_day.first_at >= lo) & (on_day.first_at < hi)]
        out[label] = {
            "new_payers": int(new.user_id.nunique()),
            "new_payer_revenue": round(float(new.amount.sum()), 2),
            "payments": len(on_day),
            "paying_users": int(on_day.user_id.nunique()),
            "revenue": round(float(on_day.amount.sum()), 2),
        }
    return out


def hanging(ev: pd.DataFrame, pay: pd.DataFrame, cfg: MetricConfig, day: ReportDay) -> dict:
    cutoff = _ts(day.end)
    lookback = cutoff - timedelta(days=cfg.hanging.lookback_days)
    out = {}
    for p in cfg.hanging.pipelines:
        sla = pd.Timedelta(hours=p.sla_hours)
        starts = ev[(ev.event == p.start) & (ev.happened_at >= lookback) & (ev.happened_at < cutoff)]
        latest = starts.groupby("user_id")["happened_at"].max().rename("started_at").reset_index()
        ends = ev.loc[ev.event.isin(p.end_events) & (ev.happened_at < cutoff), ["user_id", "happened_at"]]
        if p.ends_on_purchase:
            paid = pay.loc[pay.paid_at < cutoff, ["user_id", "paid_at"]].rename(columns={"paid_at": "happened_at"})
            ends = pd.concat([ends, paid])
        # An end at or after the start closes the process (docs/metrics.md: "at or after the start").
        j = latest.merge(ends, on="user_id", how="inner")
        closed = set(j.loc[j.happened_at >= j.started_at, "user_id"])
        open_ = latest[~latest.user_id.isin(closed)]
        is_hanging = open_.started_at <= cutoff - sla
        breached = is_hanging & (open_.started_at >= _ts(day.start) - sla) & (open_.started_at < cutoff - sla)
        out[p.name] = {"hanging": int(is_hanging.sum()), "open_within_sla": int((~is_hanging).sum()),
                       "breached_today": int(breached.sum())}
    return out


def funnel(ev: pd.DataFrame, pay: pd.DataFrame, cfg: MetricConfig, day: ReportDay) -> dict:
    f = cfg.funnel
    cutoff = _ts(day.end)
    cohort_start = _ts(day.shifted(-(f.cohort_days - 1)).start)
    window = pd.Timedelta(days=f.conversion_days)

    def occurrences(step: str) -> pd.DataFrame:
        if step == PURCHASE:
            return pay[["user_id", "paid_at"]].rename(columns={"paid_at": "at"})
        return ev.loc[ev.event == step, ["user_id", "happened_at"]].rename(columns={"happened_at": "at"})

    first = occurrences(f.steps[0]).groupby("user_id")["at"].min()
    cohort = first[(first >= cohort_start) & (first < cutoff)].rename("r1").reset_index()
    reached = cohort.set_index("user_id")["r1"]
    prev = reached
    hours = [np.zeros(len(cohort))]
    users = [len(cohort)]
    for step in f.steps[1:]:
        occ = occurrences(step).merge(prev.rename("prev").reset_index(), on="user_id")
        occ = occ.join(reached, on="user_id")
        ok = (occ["at"] >= occ["prev"]) & (occ["at"] < np.minimum(occ["r1"] + window, cutoff))
        prev = occ[ok].groupby("user_id")["at"].min()
        users.append(len(prev))
        hours.append(((prev - reached.reindex(prev.index)).dt.total_seconds() / 3600).to_numpy())
    return {
        step: {"users": n, "median_hours_from_start": round(float(np.median(h)), 2) if n else None}
        for step, n, h in zip(f.steps, users, hours, strict=True)
    }


def compute_naive(engine: Engine, schema: str, cfg: MetricConfig, day: ReportDay) -> tuple[dict, dict]:
    """(numbers shaped like bench.worker._comparable, rows loaded per table)."""
    events, payments = load(engine, schema)
    excluded = set(events.loc[events.event.isin(cfg.excluded_events), "user_id"]) if cfg.exclude_experiments else set()
    ev = events[~events.user_id.isin(excluded)]
    pay = payments[(payments.amount > 0) & ~payments.user_id.isin(excluded)]
    numbers = {
        "new_payers": new_payers(pay, day),
        "hanging": hanging(ev, pay, cfg, day),
        "funnel": funnel(ev, pay, cfg, day),
    }
    return numbers, {"events": len(events), "payments": len(payments)}
