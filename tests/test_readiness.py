"""Readiness follows the configuration (reports.readiness): a metric whose tables are absent is off,
not an error, unless the configuration requires it; check and the digest say the same."""
import dataclasses
import json
import uuid
from datetime import UTC, date, datetime

import pytest

from db.source import Source
from db.state import migrate
from metrics.day import ReportDay
from reports.check import run_check
from reports.digest import build_digest
from reports.readiness import CANNOT_RUN, IS_OFF, RUNS, readiness
from reports.registry import REGISTRY
from reports.request import report_request
from tests.test_check import _configured_events
from tests.test_cli import salespulse

D = date(2026, 3, 10)
NO_CAMPAIGNS = "no table message_sends, message_interactions"
OFF_LINE = f"metric campaigns: off — {NO_CAMPAIGNS}; set [campaigns] enabled = true to require it"


def _with(cfg, **enabled):
    return dataclasses.replace(cfg, enabled=cfg.enabled | enabled)


def test_the_rule_per_setting(cfg):
    without = Source(tables=frozenset({"events", "events_dict", "payments", "web_events"}))
    needs = REGISTRY["campaigns"].needs(cfg)
    auto = readiness(needs, cfg, without)
    assert (auto.state, auto.reason, auto.hint) == (IS_OFF, NO_CAMPAIGNS, "set [campaigns] enabled = true to require it")
    on = readiness(needs, _with(cfg, campaigns="on"), without)
    assert (on.state, on.reason, on.hint) == (CANNOT_RUN, NO_CAMPAIGNS, "required by [campaigns] enabled = true")
    off = readiness(needs, _with(cfg, campaigns="off"), Source())  # every table there, still off
    assert (off.state, off.reason) == (IS_OFF, "enabled = false in the configuration")
    assert readiness(needs, cfg, Source()).state == RUNS
    assert readiness(REGISTRY["new_payers"].needs(cfg), _with(cfg, new_payers="on"), without).state == RUNS


@pytest.fixture
def shop(source, cfg):
    """A shop without campaign tables: every configured event name present, no message tables."""
    _configured_events(source, cfg)
    source.drop_tables("message_sends", "message_interactions")
    return source


def test_check_without_campaign_tables_exits_0(shop, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": shop.schema}
    proc = salespulse("check", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert OFF_LINE in lines
    assert lines[-1] == "ready: every enabled metric can run (campaigns off)"
    for metric in ("hanging", "new_payers", "funnel", "attribution"):
        assert f"metric {metric}: runs" in lines
    doc = json.loads(salespulse("check", "--format", "json", env=env).stdout)
    assert doc["ok"] is True
    assert doc["metrics"]["campaigns"] == {"runs": False, "off": True, "reason": NO_CAMPAIGNS,
                                           "hint": "set [campaigns] enabled = true to require it", "notes": []}

    required = tmp_path / "required.toml"
    required.write_text("[campaigns]\nenabled = true\n", encoding="utf-8")
    proc = salespulse("check", env=env | {"METRICS_CONFIG": str(required)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f"metric campaigns: skipped: {NO_CAMPAIGNS}; required by [campaigns] enabled = true" in lines
    assert lines[-1] == "not ready: some metrics cannot run (see above)"


def test_switched_off_metric_is_off_even_with_its_tables(source, engine, cfg):
    _configured_events(source, cfg)
    report = run_check(engine, source.schema, _with(cfg, funnel="off"))
    assert report.ok
    assert ('metric funnel: off — enabled = false in the configuration; set [funnel] enabled = "auto" '
            "to run it when its tables exist") in report.lines()


def test_event_names_of_a_metric_switched_off_are_not_asked_for(source, engine, cfg):
    """A shop with its own event names turns hanging off: its pipelines' Russian names are no error."""
    for name in [s for s in cfg.funnel.steps if s != "purchase"] + list(cfg.experiment_events):
        source.event_id(name)
    report = run_check(engine, source.schema, _with(cfg, hanging="off"))
    assert report.ok and not [ln for ln in report.lines() if ": error:" in ln], report.lines()
    assert not run_check(engine, source.schema, cfg).ok  # with hanging on, 'Дозвон 2Л' is missing


def test_a_present_but_broken_table_is_never_off(source, engine, cfg):
    """A table the company has but that cannot serve is an error whatever the setting."""
    _configured_events(source, cfg)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'alter table "{source.schema}".message_sends rename column status to state')
    report = run_check(engine, source.schema, cfg)
    campaigns = {m.name: m for m in report.metrics}["campaigns"]
    assert not report.ok and not campaigns.runs and not campaigns.off
    assert campaigns.reason.startswith("column message_sends.status is missing")


def test_nothing_to_report_is_not_ready(engine, cfg):
    schema = f"empty_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'create schema "{schema}"')
    report = run_check(engine, schema, cfg)
    assert all(m.off for m in report.metrics) and not report.ok


def test_digest_says_off_not_skipped(shop, engine, cfg):
    """The digest's text and JSON say what check says: campaigns off, and why; no warning."""
    state = f"st_{uuid.uuid4().hex[:6]}"
    migrate(engine, state)
    shop.payments((1, datetime(2026, 3, 10, 9, tzinfo=UTC), 100))
    req = report_request(ReportDay(D, "UTC"), source_schema=shop.schema, state_schema=state)
    digest = build_digest(engine, cfg, req, with_charts=False)
    doc = digest.to_json()
    assert doc["metrics"]["campaigns"] is None
    assert doc["off"] == {"campaigns": NO_CAMPAIGNS} and doc["skipped"] == {}
    assert doc["metrics"]["new_payers"]["new_payers"] == 1
    assert digest.text.splitlines()[-1] == f"Campaigns: off — {NO_CAMPAIGNS}"
    assert "⚠️" not in digest.text

    required = build_digest(engine, _with(cfg, campaigns="on"), req, with_charts=False)
    assert required.to_json()["skipped"] == {"campaigns": NO_CAMPAIGNS} and required.to_json()["off"] == {}
    assert required.text.splitlines()[-1] == f"⚠️ Campaigns skipped: {NO_CAMPAIGNS}"
