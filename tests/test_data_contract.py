"""The views of docs/data-contract.md, run as written over company-shaped tables: `check` accepts
them and the metrics over them give the numbers worked out by hand below."""
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from db.state import migrate
from metrics.day import ReportDay
from reports.check import run_check
from tests.conftest import run_metrics

UTC = ZoneInfo("UTC")
DOC = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"
D = date(2026, 3, 10)

COMPANY_DDL = """
create schema crm;
create table crm.lead_statuses (status_id int primary key, name text not null);
create table crm.leads (lead_id bigint primary key, client_id bigint, responsible text);
create table crm.lead_status_history (history_id bigint primary key, lead_id bigint, status_id int, changed_at timestamp);
create schema segment;
create table segment.tracks (id text, anonymous_id text, user_id text, event text, "timestamp" timestamptz,
    received_at timestamptz, context_page_url text, context_page_referrer text, context_campaign_source text,
    context_campaign_medium text, context_campaign_name text, context_campaign_content text, context_campaign_term text);
create table segment.identifies (id text, anonymous_id text, user_id text, "timestamp" timestamptz,
    received_at timestamptz, context_page_url text, context_page_referrer text);
create schema billing;
create table billing.charges (charge_id bigint primary key, customer_id bigint, amount_cents bigint,
    currency text, status text, created timestamptz);
"""


def doc_examples() -> dict[str, str]:
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {b.splitlines()[0].removeprefix("-- example: "): b for b in blocks if b.startswith("-- example: ")}


def _rename(sql: str, names: dict[str, str]) -> str:
    """The doc's schema names made unique to this test (a schema name precedes `.` or `;`)."""
    return re.sub(r"\b(" + "|".join(names) + r")\b(?=[.;])", lambda m: names[m.group(1)], sql)


@pytest.fixture
def company(engine, cfg):
    tag = uuid.uuid4().hex[:6]
    names = {n: f"{n}_{tag}" for n in ("crm", "segment", "billing", "salespulse_src")}
    statuses = [n for p in cfg.hanging.pipelines for n in (p.start, *p.end_events)]
    statuses += [s for s in cfg.funnel.steps if s != "purchase"] + list(cfg.experiment_events)
    status_id = {n: 100 + i for i, n in enumerate(dict.fromkeys(statuses))}
    create, first_line = cfg.funnel.steps[0], cfg.hanging.pipelines[1].start
    assert (create, first_line) == ("Создание заявки", "Назначение задачи на звонок 1Л")

    def t(day, hh, mm=0, ss=0, tz=UTC):
        return datetime(2026, 3, day, hh, mm, ss, tzinfo=tz)

    with engine.begin() as conn:
        conn.exec_driver_sql(_rename(COMPANY_DDL, names))
        q = lambda sql, rows: conn.execute(sa.text(_rename(sql, names)), rows)
        q("insert into crm.lead_statuses values (:id, :name)", [{"id": i, "name": n} for n, i in status_id.items()])
        q("insert into crm.leads values (:lead, :client, :who)", [
            {"lead": 501, "client": 1, "who": "Ivanov"}, {"lead": 502, "client": 2, "who": "Petrova"},
            {"lead": 503, "client": 3, "who": None}, {"lead": 504, "client": 4, "who": "Ivanov"},
            {"lead": 505, "client": None, "who": "Ivanov"},
        ])
        q("insert into crm.lead_status_history values (:id, :lead, :status, :at)", [
            {"id": 1, "lead": 501, "status": status_id[create], "at": t(9, 10, tz=None)},
            {"id": 2, "lead": 501, "status": status_id[first_line], "at": t(9, 11, tz=None)},
            {"id": 3, "lead": 502, "status": status_id[create], "at": t(10, 9, tz=None)},
            {"id": 4, "lead": 503, "status": status_id[create], "at": t(10, 23, 30, tz=None)},
            {"id": 5, "lead": 504, "status": status_id[create], "at": t(8, 12, tz=None)},
            {"id": 6, "lead": 505, "status": status_id[create], "at": t(10, 8, tz=None)},  # no client: no one
        ])
        q("insert into billing.charges values (:id, :cust, :cents, 'rub', :status, :at)", [
            {"id": 9001, "cust": 1, "cents": 4990, "status": "succeeded", "at": t(10, 12)},
            {"id": 9002, "cust": 2, "cents": 1000, "status": "failed", "at": t(10, 13)},
            {"id": 9003, "cust": 2, "cents": 2500, "status": "succeeded", "at": t(10, 14)},
            {"id": 9004, "cust": 3, "cents": 10000, "status": "succeeded", "at": t(5, 10)},
            {"id": 9005, "cust": 3, "cents": 700, "status": "succeeded", "at": t(10, 23, 59, 59)},
            {"id": 9006, "cust": 1, "cents": 100, "status": "succeeded", "at": datetime(2026, 3, 11, tzinfo=UTC)},
        ])
        q("""insert into segment.tracks (id, anonymous_id, user_id, event, "timestamp", received_at,
                 context_page_url, context_campaign_source, context_campaign_medium, context_campaign_name)
             values (:id, :anon, :user, 'Page Viewed', :at, :at, :url, :src, :med, :camp)""", [
            {"id": "t1", "anon": "anon-1", "user": "", "at": t(10, 11, 50),
             "url": "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring",
             "src": "google", "med": "cpc", "camp": "spring"},
            {"id": "t2", "anon": "anon-2", "user": "2", "at": t(10, 13, 30), "url": "https://shop.example/",
             "src": None, "med": None, "camp": None},
        ])
        q("""insert into segment.identifies (id, anonymous_id, user_id, "timestamp", received_at, context_page_url)
             values ('i1', 'anon-1', '1', :at, :at, 'https://shop.example/login')""", [{"at": t(10, 11, 55)}])
        for name in ("crm", "segment", "payments"):
            # as psql would run it: no parameters, so `%` is the modulo operator
            conn.connection.cursor().execute(_rename(doc_examples()[name], names))
    migrate(engine, f"st_{tag}")
    return names["salespulse_src"], f"st_{tag}"


def test_doc_has_the_four_examples():
    # the fourth, one wide event log, is tests/test_check_probes.py's
    assert set(doc_examples()) == {"crm", "segment", "payments", "event log"}


def test_check_accepts_the_example_views(engine, cfg, company):
    schema, _ = company
    report = run_check(engine, schema, cfg)
    verdicts = {m.name: (m.runs, m.reason) for m in report.metrics}
    assert verdicts == {
        "hanging": (True, ""), "new_payers": (True, ""), "funnel": (True, ""), "attribution": (True, ""),
        "campaigns": (False, "no table message_sends, message_interactions"),
    }
    lines = report.lines()
    assert "events: ok: view" in lines and "payments: ok: view" in lines and "user_tags: ok: view" in lines
    assert "events: info: happened_at is naive (timestamp), read as DATA_TIMEZONE=UTC" in lines
    assert "payments: info: 5 rows; transaction_created_at from 2026-03-05 10:00:00+00:00 to 2026-03-11 00:00:00+00:00" in lines
    assert not [ln for ln in lines if ": error:" in ln], lines
    # every index the reports need serves through the views, the CRM's tag expression too
    probes = [ln for ln in lines if "probes by (" in ln or "each probe" in ln]
    assert len(probes) == 10 and all(": ok: index scan for probes by (" in ln for ln in probes), probes


def test_metrics_over_the_example_views(engine, cfg, company):
    schema, state = company
    out = run_metrics(engine, schema, cfg, ReportDay(D, "UTC"), state_schema=state)
    assert {n: o.skipped for n, o in out.items() if o.skipped} == {"campaigns": "no table message_sends, message_interactions"}

    # new payers on D: clients 1 (49.90) and 2 (25.00, after a failed charge); client 3 paid on
    # 03-05 already; 9006 is at 00:00 of D+1. Payments of D: 9001, 9003, 9005 = 81.90.
    p = out["new_payers"].result
    assert (p.new_payers, p.new_payer_revenue, p.payments, p.paying_users, p.revenue) == (2, 74.9, 3, 3, 81.9)

    # hanging at T = 03-11 00:00, SLA 24 h. Open requests: client 1 closed at 11:00 by the
    # first-line task; clients 2 (15 h) and 3 (30 min) open within SLA; client 4 (60 h) hanging,
    # its deadline 03-09 12:00 is not on D. First line: client 1 since 03-09 11:00 (37 h), hanging,
    # deadline 03-10 11:00 breached on D.
    h = {x.name: (x.hanging, x.open_within_sla, x.breached_today) for x in out["hanging"].result.pipelines}
    assert h["Open requests"] == (1, 2, 0)
    assert h["First line"] == (1, 0, 1)
    buckets = {b.label: b.users for b in out["hanging"].result.pipelines[0].age_buckets}
    assert buckets == {"1-2": 1, "3-7": 0, "8-30": 0}

    # funnel: first-ever request in [03-04, 03-10]: clients 1-4 (lead 505 has no client); only
    # client 1 reached the first-line task.
    f = out["funnel"].result
    assert (f.cohort_users, f.steps[0].users, f.steps[1].users) == (4, 4, 1)

    # attribution, last non-direct: 9001 follows client 1's google/cpc session (device anon-1,
    # identified at 11:55) -> Paid Search 49.90; 9003 follows client 2's direct visit -> Direct;
    # 9005 (client 3) has no session -> unattributed.
    a = out["attribution"].result
    assert (a.sessions, a.payments, a.revenue, a.unattributed_payments, a.unattributed_revenue) == (2, 3, 81.9, 1, 7.0)
    credit = {r.channel: (r.conversions, r.revenue) for r in a.channels if r.conversions}
    assert credit == {"Paid Search": (1.0, 49.9), "Direct": (1.0, 25.0), "Unattributed": (1.0, 7.0)}


def test_user_tags_view(engine, company):
    schema, _ = company
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'select user_id, tag from "{schema}".user_tags order by 1')).all()
    assert rows == [(1, "manager:ivanov"), (2, "manager:petrova"), (4, "manager:ivanov")]
