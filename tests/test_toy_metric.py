"""A metric from a folder of its own: tests/fixtures/toy_metric holds all there is of "refunds"
(its module with the spec, its SQL, its chart, its English words). Registered from that folder,
with no other file touched, it is in the JSON, the digest's text and charts, `salespulse check`,
the checked numbers (and the "needs attention" block) and the alert rules."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from metrics.day import ReportDay
from reports.alert_eval import Reader
from reports.alert_machine import Outcome
from reports.alert_rules import FLOW, parse_rule
from reports.check import run_check
from reports.digest import build_digest
from reports.registry import REGISTRY, names, register_folder, unregister
from reports.request import parse_metric, report_request
from tests.test_attribution_fixtures import make_web

TOY = Path(__file__).with_name("fixtures") / "toy_metric"
D = date(2024, 3, 14)


@pytest.fixture
def toy():
    spec = register_folder(TOY)
    yield spec
    unregister(spec.name)


def refunds(source):
    """Twelve refunds of 10 every day for 9 weeks, then 48 on D (480 returned): with twelve a day
    usual, 48 is far out (Poisson(12) gives 48 or more less than once in 10^12), and money gets a
    verdict once ten or more payments make a usual day (metrics.detector.check.MONEY_MIN_PARTS)."""
    rows, uid = [], 0
    for k in range(1, 64):
        for i in range(12):
            uid += 1
            rows.append((uid, datetime(2024, 3, 14, 8, i, tzinfo=UTC) - timedelta(days=k), -10))
    rows += [(10_000 + i, datetime(2024, 3, 14, 8, i, tzinfo=UTC), -10) for i in range(48)]
    rows.append((2000, datetime(2024, 3, 14, 12, tzinfo=UTC), 50))  # a payment, not a refund
    source.payments(*rows)


def request(web):
    return report_request(ReportDay(D), source_schema=web.src.schema, state_schema=web.src.state_schema)


def test_a_metric_from_a_folder_of_its_own_is_everywhere(toy, source, engine, cfg):
    web = make_web(source, engine)
    refunds(source)
    assert names()[-1] == "refunds" and parse_metric("returns") == "refunds"
    digest = build_digest(source.engine, cfg, request(web))
    j = digest.to_json()
    assert j["metrics"]["refunds"] == {"report_date": "2024-03-14", "refunds": 48, "refunded": 480.0}
    assert "↩️ Refunds: 48, 480 returned" in digest.text
    assert digest.charts[-1].name == "refunds" and digest.charts[-1].png.startswith(b"\x89PNG")
    assert "refunds,D,2024-03-14,refunds,48" in digest.csv
    # its checked numbers, judged by the detector as its declaration says (a count, a money sum)
    mine = {b["field"]: b for b in j["baselines"] if b["metric"] == "refunds"}
    assert set(mine) == {"refunds", "refunded"}
    assert (mine["refunds"]["value"], mine["refunds"]["direction"]) == (48, "high")
    assert mine["refunds"]["expected"] == pytest.approx(12, abs=0.5)
    assert (mine["refunded"]["value"], mine["refunded"]["direction"]) == (480, "high")
    # ... so the block names it, in its own words (its en.toml's attention.what.refunds)
    assert "▲ 48 refunds, usually " in digest.text
    # `salespulse check`: it needs payments, which are there
    verdict = {m.name: m for m in run_check(source.engine, source.schema, cfg).metrics}["refunds"]
    assert verdict.runs and verdict.reason == ""
    # /alert: its numbers are targets, read from the same series
    rule = parse_rule("refunds > 3", cfg)
    assert (rule.target, rule.kind) == ("refunds", FLOW)
    reading = Reader(source.engine, source.schema, cfg).read(rule, None, day=ReportDay(D))
    assert (reading.outcome, reading.value) == (Outcome.HOLDS, 48.0)
    unusual = Reader(source.engine, source.schema, cfg).read(parse_rule("refunded unusual", cfg), None,
                                                             day=ReportDay(D))
    assert (unusual.outcome, unusual.value, unusual.direction) == (Outcome.HOLDS, 480.0, "high")


def test_without_the_folder_nothing_of_it_remains(source, engine, cfg):
    assert "refunds" not in REGISTRY
    digest = build_digest(source.engine, cfg, request(make_web(source, engine)))
    assert "refunds" not in digest.to_json()["metrics"]


def test_a_folder_without_a_metric_module_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no metric.py"):
        register_folder(tmp_path)


def test_metric_plugins_loads_it_for_the_command_line(source, database_url):
    from tests.test_cli import assert_one_line_error, salespulse

    refunds(source)
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": source.schema, "STATE_SCHEMA": f"{source.schema}_state",
           "METRIC_PLUGINS": str(TOY)}
    proc = salespulse("report", "--date", "2024-03-14", "--metric", "returns", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"] == {"refunds": {"report_date": "2024-03-14", "refunds": 48,
                                                              "refunded": 480.0}}
    check = salespulse("check", env=env)
    assert "metric refunds: runs" in check.stdout
    bad = salespulse("check", env=env | {"METRIC_PLUGINS": str(TOY.parent)})
    assert_one_line_error(bad, "METRIC_PLUGINS=", "holds no metric.py")
