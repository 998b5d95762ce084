"""The plan corpus (bench/plans.py): its flags on hand-made plans, and a run on a tiny seeded
schema that captures every metric's statements with their plans."""
import json
import uuid
from datetime import date

import pytest

from bench.plan_capture import Capture, fingerprint, has_auto_explain, parse_notice, summarize
from bench.plan_days import days_read
from bench.plan_table import big, growth, over, render
from bench.plans import Case, measure
from db.engine import make_engine
from db.seed import seed
from db.state import migrate
from metrics.day import ReportDay
from reports.request import ReportRequest, parse_report_scope

# A nested loop whose inner index scan runs once per outer row and keeps few of the rows it reads.
PLAN = {"Query Text": "select 1", "Plan": {
    "Node Type": "Nested Loop", "Actual Rows": 40, "Actual Loops": 1, "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "payments", "Actual Rows": 500, "Actual Loops": 1},
        {"Node Type": "Index Scan", "Relation Name": "events", "Actual Rows": 2, "Actual Loops": 500,
         "Rows Removed by Filter": 98},
    ]}}


def _record(size, work, day_rows, largest_work, read_rows, stage="funnel", fp="abc"):
    return {"shape": "seeded", "size": size, "variant": "on", "stage": stage, "fingerprint": fp, "count": 1,
            "work": work, "day_rows": day_rows, "read_rows": read_rows,
            "largest": {"node_type": "Index Scan", "relation": "events", "loops": 1, "rows": largest_work,
                        "work": largest_work}}


def test_largest_node_counts_loops_and_rows_removed_by_filters():
    stats = summarize(PLAN, 12.5)
    # the index scan: 500 loops × (2 returned + 98 removed) = 50,000, above the seq scan's 500
    assert (stats.largest.node_type, stats.largest.loops, stats.largest.rows) == ("Index Scan", 500, 100)
    assert stats.largest.work == 50_000
    assert stats.work == 40 + 500 + 50_000
    assert stats.relations == ("payments", "events") and stats.rows == 40 and stats.ms == 12.5


def test_notice_parsing_and_capture_by_stage():
    capture = Capture()
    capture.set_stage("new_payers")
    capture.append("NOTICE:  duration: 3.250 ms  plan:\n" + json.dumps(PLAN, indent=2) + "\n")
    capture.append("NOTICE:  relation already exists, skipping\n")
    assert [(stage, st.ms) for stage, st in capture.plans] == [("new_payers", 3.25)]
    assert capture.unparsed == 1
    assert parse_notice("WARNING: nothing") is None


def test_over_ten_times_the_rows_of_the_days_read():
    assert over(_record("30k", 0, 100, 1_001, 100))
    assert not over(_record("30k", 0, 100, 1_000, 100))
    assert not over(_record("30k", 0, 0, 5_000, 0))  # nothing with a time column: not judged
    assert over(_record("30k", 0, 100, 5_000, 100)) and not big(_record("30k", 0, 100, 5_000, 100))
    assert big(_record("30k", 0, 100, 50_000, 100))


def test_growth_flags_work_that_outgrows_the_day():
    linear = [_record("30k", 1_000, 100, 1, 100), _record("250k", 8_000, 800, 1, 800)]
    square = [_record("30k", 1_000, 100, 1, 100, fp="sq"), _record("250k", 64_000, 800, 1, 800, fp="sq")]
    other_statement = [_record("250k", 64_000, 800, 1, 800, fp="new")]
    flags = growth(linear + square + other_statement)
    assert list(flags) == [id(square[1])]
    assert "work ×64.0 vs day rows ×8.0" in flags[id(square[1])]


def test_statements_keep_their_key_across_schemas_and_literals():
    a = "select * from \"s1\".payments where t >= '2026-10-01'::date and id = any(ARRAY[1, 2, 3])"
    b = "select * from \"big\".payments where t >= '2026-11-22'::date and id = any(ARRAY[7])"
    assert fingerprint(a, ("s1",)) == fingerprint(b, ("big",))
    assert fingerprint(a, ("s1",)) != fingerprint(a.replace("payments", "events"), ("s1",))


def test_days_read_from_the_statements_literals():
    d = date(2026, 3, 8)
    assert days_read("where t >= '2026-03-02T00:00:00+00:00' and t < '2026-03-09T00:00:00+00:00'", d) == \
        (date(2026, 3, 2), d)
    assert days_read("select 1", d) == (d, d)


def test_corpus_runs_on_a_tiny_seeded_schema(engine, database_url, cfg):
    if not has_auto_explain(engine):  # CI's first pass, on the machine's Postgres, runs it
        pytest.skip("this Postgres has no auto_explain (the embedded server ships without contrib)")
    schema = f"pc_{uuid.uuid4().hex[:6]}"
    seed(engine, schema, users=60, days=20, start=date(2026, 2, 17), progress=False)
    migrate(engine, f"st_{schema}")
    day = ReportDay(date(2026, 3, 8), "UTC")
    req = ReportRequest(day, scope=parse_report_scope("team:north"), source_schema=schema, state_schema=f"st_{schema}")
    records = measure(Case("seeded", "tiny", schema, "scoped"), cfg, req, 2, lambda: make_engine(database_url))
    stages = {r["stage"] for r in records}
    assert {"hanging", "new_payers", "funnel", "attribution", "campaigns"} <= stages
    assert any(s.startswith("baselines/") for s in stages)
    assert all(r["runs"] == 2 for r in records)
    payments = [r for r in records if r["stage"] == "new_payers" and "payments" in r["relations"]]
    assert payments and all(r["day_rows"] > 0 and r["read_rows"] >= r["day_rows"] for r in payments)
    text = render({"date": "2026-03-08", "argv": [], "load": [1.0, 1.0, 1.0], "records": records,
                   "machine": {"cpus": 2, "cpu": "x", "ram_gb": 1, "postgres": "pg"}})
    assert "| seeded | tiny | scoped |" in text


def test_a_case_stopped_by_the_timeout_is_not_judged_as_holding():
    failure = {"shape": "views", "size": "8M", "variant": "on", "stage": "warm-up: new_payers", "seconds": 120,
               "error": "canceling statement due to statement timeout"}
    text = render({"date": "2026-11-22", "argv": [], "load": [1.0, 1.0, 1.0], "records": [], "failures": [failure],
                   "machine": {"cpus": 2, "cpu": "x", "ram_gb": 1, "postgres": "pg"}})
    assert "not judged: 1 case(s) stopped by the statement timeout" in text
    assert "| views | 8M | on | warm-up: new_payers | 120 s |" in text
