"""The digest's wiring: the funnel gets its acquisition-channel breakdown from attribution."""
from datetime import timedelta

import pytest

from metrics.day import ReportDay
from reports.registry import REGISTRY
from tests.test_attribution_fixtures import D, at, make_web


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)


def test_funnel_segments_by_acquisition_channel(web, cfg):
    step1 = cfg.funnel.steps[0]
    # User 1 first came from a Google ad two days before the request; user 2 from a newsletter;
    # user 3 never visited the site (no session): Unattributed.
    web.hit(at(D - timedelta(days=2), 10), anon="a1", user=1, utm=("google", "cpc"))
    web.hit(at(D - timedelta(days=1), 10), anon="a2", user=2, utm=("newsletter", "email"))
    web.db.events((1, step1, at(D, 9)), (2, step1, at(D, 10)), (3, step1, at(D, 11)))
    web.sync(cfg)
    with web.engine.begin() as conn:
        result = REGISTRY["funnel"].compute(conn, web.src, cfg, ReportDay(D))
    channels = {s.name: s.users for s in result.segments if s.kind == "channel"}
    assert channels == {"Paid Search": 1, "Email": 1, "Unattributed": 1}
    assert result.steps[0].users == 3


def test_funnel_without_web_tracking_has_no_channel_segments(source, cfg):
    source.events((1, cfg.funnel.steps[0], at(D, 9)))
    source.drop_tables("message_interactions", "web_events")
    with source.engine.begin() as conn:
        result = REGISTRY["funnel"].compute(conn, source.src, cfg, ReportDay(D))
    assert result.steps[0].users == 1
    assert not [s for s in result.segments if s.kind == "channel"]
