"""Issue 26's test of done: the monthly digest of seeded data names the month's biggest mover, and
each dimension's, as a pandas count of the same rows says.

March 2026 against February of a company seeded from 1 January. pandas reads the rows themselves:
payments (amount > 0, users of the experiment flows left out), the owner tags, and for channels
the session store's sessions with the channel Postgres's own grouping gives each (source, medium)
pair; each payment goes to its user's latest non-Direct session of the lookback before it, else
the latest Direct one, else none (the default attribution model). The campaigns' credit is
metrics.campaigns' own (a crediting rule of its own, tested in tests/test_campaigns.py).
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from db.seed import Volumes, seed
from db.state import migrate
from metrics.channels import channel_params, channel_sql
from metrics.day import ReportDay
from metrics.sessions import SessionStore
from reports.request import report_request
from reports.review import build_report
from reports.review_text import mover_line

MARCH = (date(2026, 3, 1), date(2026, 4, 1))
FEBRUARY = (date(2026, 2, 1), date(2026, 3, 1))


@pytest.fixture(scope="module")
def company(engine):
    schema = f"rv_{uuid.uuid4().hex[:8]}"
    seed(engine, schema, users=3000, days=100, start=date(2026, 1, 1), seed=7, progress=False,
         volumes=Volumes(web_events_per_user_day=0.6, sends_per_user_day=0.1))
    migrate(engine, f"{schema}_state")
    yield schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{schema}" cascade; drop schema "{schema}_state" cascade')


def _frame(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(sa.text(sql), params).mappings().all())


def _payments(engine, schema: str, cfg) -> pd.DataFrame:
    pay = _frame(engine, f'select user_id, transaction_created_at as at, amount::float8 as amount from "{schema}".payments '
                         "where amount > 0")
    excluded = _frame(engine, f'select distinct e.user_id from "{schema}".events e join "{schema}".events_dict d '
                              "on d.id = e.event_id where d.description = any(:names)", names=list(cfg.excluded_events))
    pay = pay[~pay.user_id.isin(excluded.user_id if len(excluded) else [])]
    pay["at"] = pd.to_datetime(pay["at"], utc=True)
    pay["month"] = pay["at"].dt.strftime("%Y-%m")
    return pay


def _channels(engine, schema: str, cfg, pay: pd.DataFrame) -> pd.Series:
    """Each payment's channel by the default attribution model, from the session store's rows."""
    store = SessionStore(sa_source(schema), cfg.attribution, "UTC").scope
    ch = channel_sql(cfg.attribution, "ch_source", "ch_medium")
    sessions = _frame(engine, f"""select user_id, started_at, {ch} as channel
        from "{schema}_state".attribution_sessions where scope = :store and user_id is not null
          and started_at >= :lo and started_at < :hi""",
                      store=store, lo=FEBRUARY[0] - timedelta(days=cfg.attribution.lookback_days), hi=MARCH[1],
                      **channel_params(cfg.attribution))
    sessions["started_at"] = pd.to_datetime(sessions["started_at"], utc=True)
    joined = pay.reset_index().merge(sessions, on="user_id", how="left")
    lookback = pd.Timedelta(days=cfg.attribution.lookback_days)
    joined = joined[(joined.started_at >= joined["at"] - lookback) & (joined.started_at < joined["at"])]
    joined = joined.assign(non_direct=joined.channel != "Direct").sort_values(["non_direct", "started_at"])
    best = joined.groupby("index").tail(1).set_index("index")["channel"]
    return best.reindex(pay.index).fillna("(none)")


def sa_source(schema: str):
    from db.source import Source

    return Source(schema=schema, state_schema=f"{schema}_state")


def _mover(now: pd.Series, before: pd.Series, catch_all: str) -> tuple[str, float, float]:
    both = pd.concat([now.rename("now"), before.rename("before")], axis=1).fillna(0.0).drop(index=catch_all,
                                                                                           errors="ignore")
    change = (both["now"] - both["before"]).round(2)
    top = change.abs().max()
    key = min(change[change.abs() == top].index)
    return key, round(both.loc[key, "now"], 2), round(both.loc[key, "before"], 2)


def test_the_month_names_its_biggest_mover_as_pandas_counts_it(engine, cfg, company):
    req = replace(report_request(ReportDay(date(2026, 3, 31), "UTC"), source_schema=company,
                                 state_schema=f"{company}_state"), period="month")
    review = build_report(engine, cfg, req, with_charts=False)
    doc = review.to_json()
    pay = _payments(engine, company, cfg)
    march, feb = pay[pay.month == "2026-03"], pay[pay.month == "2026-02"]
    totals = {n["name"]: n for n in doc["numbers"]}
    assert totals["revenue"]["value"] == round(march.amount.sum(), 2)
    assert totals["revenue"]["previous"] == round(feb.amount.sum(), 2)
    assert totals["payments"]["value"] == len(march) and totals["payments"]["previous"] == len(feb)
    first = pay.groupby("user_id")["at"].min().dt.strftime("%Y-%m")
    assert totals["new_payers"]["value"] == (first == "2026-03").sum()
    assert totals["revenue"]["year_ago"] is None  # the data begin in January 2026

    movers = {m["dimension"]: m for m in doc["movers"]}
    tags = _frame(engine, f"""select user_id, min(tag) as owner from "{company}".user_tags
                              where starts_with(tag, 'manager:') group by user_id""")
    owner = pay.merge(tags, on="user_id", how="left").fillna({"owner": "(no owner)"}).set_index(pay.index)["owner"]
    counted = {"owner": _mover(march.groupby(owner).amount.sum(), feb.groupby(owner).amount.sum(), "(no owner)")}
    channel = _channels(engine, company, cfg, pay)
    counted["channel"] = _mover(march.groupby(channel).amount.sum(), feb.groupby(channel).amount.sum(), "(none)")
    for dim, (key, now, before) in counted.items():
        assert (movers[dim]["key"], movers[dim]["value"], movers[dim]["previous"]) == (key, now, before), dim
    # the month's biggest mover: the money mover of the largest change, named first in the text
    biggest = max((m for m in doc["movers"] if m["field"] == "revenue"), key=lambda m: abs(m["change"]))
    assert doc["movers"][0] == biggest
    assert all(abs(biggest["change"]) >= round(abs(now - before), 2) for _, now, before in counted.values())
    lines = review.text.splitlines()
    at = lines.index("🚀 Biggest movers against February 2026")
    assert lines[at + 1] == mover_line(review.movers[0], "en")
    print("biggest mover:", lines[at + 1], "| counted:", counted)
