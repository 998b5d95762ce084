"""Which tables a metric needs follows from the configuration (reports.requirements), and the
digest runs or skips by it: each defect of issue 15 it fixes has a test here that failed before."""
import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from db.source import Source
from metrics.day import ReportDay
from reports.registry import requirements
from tests.conftest import run_metrics
from tests.test_attribution_fixtures import make_web

UTC = ZoneInfo("UTC")
D = date(2026, 3, 10)


def _no_purchase(cfg):
    pipelines = tuple(dataclasses.replace(p, ends=p.end_events or ("x",)) for p in cfg.hanging.pipelines)
    return dataclasses.replace(
        cfg,
        hanging=dataclasses.replace(cfg.hanging, pipelines=pipelines),
        funnel=dataclasses.replace(cfg.funnel, steps=tuple(s for s in cfg.funnel.steps if s != "purchase")),
    )


def test_tables_follow_the_configuration(cfg):
    assert requirements("hanging", cfg).required == ("events", "events_dict")
    assert [o.tables for o in requirements("hanging", cfg).optional] == [("payments",)]
    assert requirements("hanging", _no_purchase(cfg)).optional == ()
    assert "payments" in requirements("funnel", cfg).required
    assert "payments" not in requirements("funnel", _no_purchase(cfg)).required
    assert requirements("attribution", cfg).required == ("web_events", "payments")
    assert requirements("campaigns", cfg).required == ("message_sends", "message_interactions", "payments")
    # the experiment exclusion: events optional when it is on and names events, absent otherwise
    assert ("events", "events_dict") in [o.tables for o in requirements("new_payers", cfg).optional]
    off = dataclasses.replace(cfg, exclude_experiments=False)
    assert requirements("new_payers", off).optional == ()
    assert requirements("new_payers", dataclasses.replace(cfg, experiment_events=())).optional == ()
    web_only = Source(tables=frozenset({"payments", "web_events"}))
    assert requirements("attribution", cfg).notes(web_only) == [
        "without events, events_dict: experiment-flow users are not excluded"]
    assert requirements("campaigns", cfg).skip_reason(web_only) == "no table message_sends, message_interactions"


def test_funnel_without_a_purchase_step_runs_without_payments(source, engine, cfg):
    """Defect: the funnel was skipped for want of payments even when no step is a purchase."""
    cfg = _no_purchase(cfg)
    first, second = cfg.funnel.steps[0], cfg.funnel.steps[1]
    source.events(
        (1, first, datetime(2026, 3, 9, 10, tzinfo=UTC)),
        (1, second, datetime(2026, 3, 9, 11, tzinfo=UTC)),
        (2, first, datetime(2026, 3, 10, 23, 59, tzinfo=UTC)),
    )
    source.drop_tables("payments")
    out = run_metrics(engine, source.schema, cfg, ReportDay(D, "UTC"), ("funnel", "hanging"))
    assert out["funnel"].skipped is None
    steps = out["funnel"].result.steps
    assert (out["funnel"].result.cohort_users, steps[0].users, steps[1].users) == (2, 2, 1)
    assert out["hanging"].skipped is None


def test_funnel_with_a_purchase_step_is_skipped_without_payments(source, engine, cfg):
    source.drop_tables("payments")
    out = run_metrics(engine, source.schema, cfg, ReportDay(D, "UTC"), ("funnel",))
    assert out["funnel"].skipped == "no table payments"


def test_payers_and_campaigns_run_without_events_and_say_so(source, engine, cfg):
    """Defect: with exclusion on and no events tables they 'failed (ProgrammingError)'."""
    source.payments(
        (1, datetime(2026, 3, 10, 9, tzinfo=UTC), 100),
        (2, datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC), 60),
        (2, datetime(2026, 3, 11, 0, 0, tzinfo=UTC), 500),
    )
    source.insert("message_sends", [{"campaign": "spring", "channel": "email", "user_id": 1,
                                     "sent_at": datetime(2026, 3, 10, 8, tzinfo=UTC), "status": "sent"}])
    source.drop_tables("events", "events_dict")
    assert cfg.exclude_experiments and cfg.experiment_events
    out = run_metrics(engine, source.schema, cfg, ReportDay(D, "UTC"), ("new_payers", "campaigns", "hanging"))
    payers = out["new_payers"]
    assert payers.skipped is None
    assert (payers.result.new_payers, payers.result.new_payer_revenue) == (2, 160.0)
    assert payers.notes == ("without events, events_dict: experiment-flow users are not excluded",)
    camp = out["campaigns"]
    assert camp.skipped is None and camp.notes
    assert [(c.campaign, c.sent) for c in camp.result.campaigns] == [("spring", 1)]
    assert out["hanging"].skipped == "no table events, events_dict"


def test_attribution_runs_without_events(source, engine, cfg):
    web = make_web(source, engine)
    source.insert("web_events", [{"anonymous_id": "a", "user_id": 1, "happened_at": datetime(2026, 3, 10, 8, tzinfo=UTC),
                                  "page_url": "https://shop.example/?utm_source=google&utm_medium=cpc"}])
    source.payments((1, datetime(2026, 3, 10, 9, tzinfo=UTC), 100))
    source.drop_tables("events", "events_dict")
    out = run_metrics(engine, source.schema, cfg, ReportDay(D, "UTC"), ("attribution",), state_schema=web.src.state_schema)
    res = out["attribution"].result
    assert out["attribution"].skipped is None
    assert (res.payments, res.revenue, res.unattributed_payments) == (1, 100.0, 0)
    assert out["attribution"].notes


def test_every_connection_has_jit_off(engine):
    """The engine turns JIT off for every connection (campaigns relies on it, no per-query toggle)."""
    with engine.connect() as conn:
        assert conn.execute(sa.text("select current_setting('jit')")).scalar() == "off"
