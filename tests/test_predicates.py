"""No predicate that is always true reaches SQL (issue 23 item 1).

With the experiment exclusion off and no scope, the exclusion's `not exists (... = any(:excluded_ids))`
(with ids [-1]) and the scope's semi-join are not written into any statement of the digest: the
planner cannot see that they hold for every row, and without statistics it nested whole joins
inside them. With exclusion on and a scope they are there (and tests/test_new_payers.py,
test_hanging.py, test_funnel.py, test_campaigns.py and test_scopes*.py check what they leave out).
"""
from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import date

import pytest

from db.seed import seed
from db.state import migrate
from metrics.day import ReportDay
from reports.digest import build_digest
from reports.registry import names
from reports.request import report_request
from tests.conftest import statements

START, DAYS = date(2026, 9, 1), 21
DAY = ReportDay(date(2026, 9, 20), "UTC")
ALWAYS_TRUE = re.compile(r"\band\s+true\b|\bwhere\s+true\b|\(\s*true\s*\)", re.IGNORECASE)


@pytest.fixture(scope="module")
def seeded(engine):
    schema = f"pred_{uuid.uuid4().hex[:6]}"
    seed(engine, schema, users=120, days=DAYS, start=START, progress=False)
    migrate(engine, f"{schema}_state")
    return schema


def digest_sql(engine, schema, cfg, scope=None) -> list[str]:
    req = report_request(DAY, scope=scope, metrics=names(), source_schema=schema, state_schema=f"{schema}_state")
    with statements(engine) as seen:
        digest = build_digest(engine, cfg, req, with_charts=False)
    assert not digest.to_json().get("skipped"), digest.to_json().get("skipped")
    return list(seen)


def test_exclusion_off_and_no_scope_write_no_predicate(engine, seeded, cfg):
    off = dataclasses.replace(cfg, exclude_experiments=False)
    seen = digest_sql(engine, seeded, off)
    assert len(seen) > 30  # every metric and its checked numbers ran
    assert [s for s in seen if "excluded_ids" in s] == []
    assert [s for s in seen if "scope_tags" in s or "scope_users" in s] == []
    assert [s for s in seen if ALWAYS_TRUE.search(s)] == []


def test_exclusion_on_and_a_scope_write_their_predicates(engine, seeded, cfg):
    assert cfg.exclude_experiments and cfg.excluded_events
    seen = digest_sql(engine, seeded, cfg, scope="team:north")
    # the same statements as above now carry both: the test above can fail
    for name in ("window_payments", "latest_starts", "first_in_window", "due_2", "period_sends", "_payments_d"):
        both = [s for s in seen if name in s and "excluded_ids" in s and "scope_users" in s]
        assert both, name
    assert [s for s in seen if ALWAYS_TRUE.search(s)] == []


def test_exclusion_on_without_any_configured_event_found_writes_none(engine, seeded, cfg):
    """Names that match nothing in events_dict exclude nobody: no probe either."""
    nowhere = dataclasses.replace(cfg, experiment_events=("no such event",))
    seen = digest_sql(engine, seeded, nowhere)
    assert [s for s in seen if "excluded_ids" in s] == []
