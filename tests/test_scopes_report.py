"""Scopes end to end: the digest and its JSON, the stuck-lead CSV, the CLI, the words in both
languages, and properties on seeded data (an all-users scope is the company; a manager's scope is
that manager's by_owner row)."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from db.seed import seed
from db.seed_tags import MANAGERS
from db.state import migrate
from metrics.day import ReportDay
from metrics.hanging import HangingResult, OwnerCount, PipelineStatus
from reports.digest import MetricOutcome, build_digest
from reports.request import ReportInputError, report_request
from reports.stuck_leads import stuck_leads_csv
from reports.text import render_caption, render_text
from tests.conftest import run_metrics
from tests.test_cli import assert_one_line_error, salespulse
from tests.test_scopes import DAY, build_company

D = DAY.day


@pytest.fixture
def company(source, engine):
    return build_company(source, engine)


def digest(web, cfg, scope=None, names=("hanging", "new_payers")):
    return build_digest(web.engine, cfg, report_request(DAY, scope=scope, metrics=names, source_schema=web.src.schema,
                                                        state_schema=web.src.state_schema), with_charts=False)


def test_digest_json_and_text_carry_the_scope(company, cfg):
    whole = digest(company, cfg)
    assert whole.scope is None and whole.to_json()["scope"] is None and whole.to_json()["scope_users"] is None
    north = digest(company, cfg, "team:north")
    doc = north.to_json()
    assert doc["scope"] == "team:north" and doc["scope_users"] == 4
    assert doc["metrics"]["new_payers"]["revenue"] == 130.0  # u1 100 + u4 30 (hand-worked in test_scopes)
    first = next(p for p in doc["metrics"]["hanging"]["pipelines"] if p["name"] == "First line")
    assert first["by_owner"] == [{"owner": "manager:ivanov", "hanging": 2, "breached_today": 0},
                                 {"owner": "manager:petrov", "hanging": 1, "breached_today": 1}]
    assert "🎯 Scope: team:north · 4 users" in north.text
    assert "digest,report,,scope,team:north\n" in north.csv and ",scope," not in whole.csv
    assert "hanging,owner: First line,manager:petrov,breached_today,1\n" in north.csv
    assert digest(company, cfg, "team:north & team:south").scope_users == 1  # u4
    assert digest(company, cfg, " team:south &team:north ").scope == "team:north & team:south"


def test_scope_with_nobody_is_an_empty_report_not_an_error(company, cfg):
    d = digest(company, cfg, "team:east")
    assert d.scope_users == 0 and d.to_json()["metrics"]["new_payers"]["payments"] == 0
    assert "nobody has these tags" in d.text
    ru = build_digest(company.engine, cfg, report_request(DAY, locale="ru", scope="team:east", metrics=("new_payers",),
                                                          source_schema=company.src.schema,
                                                          state_schema=company.src.state_schema), with_charts=False)
    assert "ни у кого нет этих тегов" in ru.text


def test_bad_scope_and_missing_user_tags_are_input_errors(source, cfg):
    with pytest.raises(ReportInputError, match="empty tag"):
        report_request(DAY, scope="a &")  # refused where the request is made, before anything runs
    source.drop_tables("user_tags")
    with pytest.raises(ReportInputError, match="needs the user_tags table") as err:
        build_digest(source.engine, cfg, report_request(DAY, scope="team:north", metrics=("new_payers",),
                                                        source_schema=source.schema), with_charts=False)
    assert "user_tags" in err.value.text("ru")
    # company-wide still works without the table
    assert build_digest(source.engine, cfg, report_request(DAY, metrics=("new_payers",), source_schema=source.schema),
                        with_charts=False).scope is None


def test_stuck_leads_csv(company, cfg):
    def leads(day, scope=None):
        return stuck_leads_csv(company.engine, cfg, report_request(day, scope=scope, source_schema=company.src.schema,
                                                                   state_schema=company.src.state_schema))

    text = leads(DAY)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["pipeline", "user_id", "owner", "since", "age_hours"]
    assert rows[1] == ["Open requests", "5", "", "2024-03-13T20:00:00+00:00", "28.00"]
    assert [r[:3] for r in rows[2:]] == [["First line", "4", "manager:ivanov"], ["First line", "1", "manager:ivanov"],
                                         ["First line", "6", ""], ["First line", "2", "manager:petrov"]]
    south = leads(DAY, "team:south")
    assert south.splitlines()[1:] == ["First line,4,manager:ivanov,2024-03-11T10:00:00+00:00,86.00"]
    msk = leads(ReportDay(D, "Europe/Moscow"), "region:msk")
    # u1's process in the report time zone (+03:00); T is Moscow's midnight: 63 h - 3 h = 60 h
    assert msk.splitlines()[1:] == ["First line,1,manager:ivanov,2024-03-12T12:00:00+03:00,60.00"]


def _hanging(by_owner):
    p = PipelineStatus("First line", "x", 24.0, sum(o.hanging for o in by_owner),
                       0, sum(o.breached_today for o in by_owner), by_owner=by_owner)
    q = PipelineStatus("Second line", "y", 24.0, 3, 0, 0, by_owner=[OwnerCount("manager:popov", 3, 0)])
    return {"hanging": MetricOutcome("hanging", HangingResult(D, 30, [p, q]))}


def test_digest_names_the_owners_with_the_most_stuck_leads_in_both_languages():
    outcomes = _hanging([OwnerCount("manager:ivanov", 5, 1), OwnerCount("manager:petrov", 2, 0),
                         OwnerCount(None, 4, 1), OwnerCount("manager:sidorova", 1, 0)])
    # Over both pipelines: ivanov 5, popov 3, petrov 2, sidorova 1 (top three named), no owner 4.
    en = render_text(outcomes, DAY, "en")
    assert "👤 Most stuck: ivanov 5, popov 3, petrov 2, no owner 4" in en
    ru = render_text(outcomes, DAY, "ru")
    assert "👤 Больше всего зависших: ivanov 5, popov 3, petrov 2, без ответственного 4" in ru
    assert "👤 Most stuck: ivanov 5" in render_caption(outcomes, DAY, "en")
    # nobody to name: no owner data at all, or only unowned leads
    plain = {"hanging": MetricOutcome("hanging", HangingResult(D, 30, [
        PipelineStatus("First line", "x", 24.0, 4, 0, 1)]))}
    unowned = {"hanging": MetricOutcome("hanging", HangingResult(D, 30, [
        PipelineStatus("First line", "x", 24.0, 4, 0, 1, by_owner=[OwnerCount(None, 4, 1)])]))}
    assert "👤" not in render_text(plain, DAY, "en") and "👤" not in render_text(unowned, DAY, "ru")


def test_cli_scope_json_and_stuck_leads(company, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SOURCE_SCHEMA": company.src.schema,
           "STATE_SCHEMA": company.src.state_schema}
    proc = salespulse("report", "--date", D.isoformat(), "--scope", "team:north", "--format", "json",
                      "--metric", "new_payers", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["scope"] == "team:north" and doc["metrics"]["new_payers"]["payments"] == 2
    proc = salespulse("report", "--date", D.isoformat(), "--scope", "team:south", "--stuck-leads",
                      env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["pipeline,user_id,owner,since,age_hours",
                                        "First line,4,manager:ivanov,2024-03-11T10:00:00+00:00,86.00"]
    bad = salespulse("report", "--date", D.isoformat(), "--scope", "team north", env=env, cwd=tmp_path)
    assert_one_line_error(bad, "bad scope", "team north")
    assert bad.returncode == 2


# ---- properties on seeded data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(engine):
    schema = f"scoped_{uuid.uuid4().hex[:8]}"
    seed(engine, schema, users=300, days=21, start=date(2024, 3, 1), seed=11, progress=False)
    with engine.begin() as conn:  # a tag every user with any row has
        conn.exec_driver_sql(
            f'insert into "{schema}".user_tags (user_id, tag) select distinct user_id, \'all\' from ('
            f'select user_id from "{schema}".events union select user_id from "{schema}".payments '
            f'union select user_id from "{schema}".message_sends '
            f'union select user_id from "{schema}".web_events where user_id is not null) u')
    migrate(engine, f"{schema}_state")
    return schema


def _metrics(engine, schema, cfg, day, scope=None):
    from reports.serialize import jsonable

    out = run_metrics(engine, schema, cfg, day, state_schema=f"{schema}_state", scope=scope)
    assert not any(o.skipped for o in out.values()), {k: o.skipped for k, o in out.items()}
    return {k: jsonable(o.result) for k, o in out.items()}


def test_all_users_scope_equals_the_company(engine, seeded, cfg):
    day = ReportDay(date(2024, 3, 20), "Europe/Moscow")
    whole, scoped = _metrics(engine, seeded, cfg, day), _metrics(engine, seeded, cfg, day, "all")
    assert whole["hanging"]["pipelines"][0]["hanging"] > 0 and whole["new_payers"]["payments"] > 0
    for name in ("hanging", "new_payers", "funnel", "campaigns"):
        assert scoped[name] == whole[name], name
    a, b = whole["attribution"], scoped["attribution"]
    assert b["payments"] == a["payments"] > 0 and b["revenue"] == a["revenue"]
    assert b["unattributed_payments"] == a["unattributed_payments"]
    # Journeys are users' sessions: every rule model's credit is the same ...
    for model in ("last_non_direct", "first_touch", "last_touch", "linear", "position_based", "time_decay"):
        credit = lambda rows: {r["channel"]: (r["conversions"], r["revenue"]) for r in rows if r["conversions"]}
        assert credit(b["models"][model]) == credit(a["models"][model]), model
    # ... while anonymous sessions fall outside every scope, even one that holds every user.
    with engine.connect() as conn:
        anonymous = conn.execute(sa.text(
            f'select count(*) from "{seeded}_state".attribution_sessions '
            "where user_id is null and started_at >= :s and started_at < :e"), {"s": day.start, "e": day.end}).scalar()
    assert anonymous > 0 and b["sessions"] == a["sessions"] - anonymous


def test_manager_scope_is_that_managers_owner_row(engine, seeded, cfg):
    day = ReportDay(date(2024, 3, 20), "UTC")
    whole = _metrics(engine, seeded, cfg, day)["hanging"]["pipelines"]
    for p in whole:  # per-owner rows add up to the pipeline
        assert sum(o["hanging"] for o in p["by_owner"]) == p["hanging"]
        assert sum(o["breached_today"] for o in p["by_owner"]) == p["breached_today"]
    owners = {o["owner"] for p in whole for o in p["by_owner"]}
    assert len(owners - {None}) >= 3
    for name in ("manager:ivanov", "manager:sokolov"):
        scoped = _metrics(engine, seeded, cfg, day, name)["hanging"]["pipelines"]
        for p, s in zip(whole, scoped):
            row = next((o for o in p["by_owner"] if o["owner"] == name), {"hanging": 0, "breached_today": 0})
            assert (s["hanging"], s["breached_today"]) == (row["hanging"], row["breached_today"]), (name, p["name"])


def test_seeded_tags_are_realistic(engine, seeded):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'select user_id, tag from "{seeded}".user_tags where tag <> \'all\'')).all()
    tags: dict[int, set[str]] = {}
    for u, t in rows:
        tags.setdefault(u, set()).add(t)
    team_of = {f"manager:{m}": f"team:{t}" for m, t, *_ in MANAGERS}
    owned = [ts for ts in tags.values() if any(t.startswith("manager:") for t in ts)]
    assert all(len([t for t in ts if t.startswith("manager:")]) == 1 for ts in owned)  # one owner each
    assert all(team_of[next(t for t in ts if t.startswith("manager:"))] in ts for ts in owned)  # owner's team
    assert all(len([t for t in ts if t.startswith("team:")]) == 1 for ts in tags.values())
    assert len(owned) < len(tags)  # some leads have no owner yet
    per_manager = {m: sum(f"manager:{m}" in ts for ts in tags.values()) for m, *_ in MANAGERS}
    assert per_manager["ivanov"] > 3 * per_manager["sokolov"]  # imbalance
    assert any("vip" in ts for ts in tags.values())
