"""`salespulse check` as a user runs it: a real process against real schemas, one line per finding."""
import dataclasses
import json
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from db.engine import server_label
from db.seed import seed
from reports.check import nearest, run_check
from tests.test_cli import salespulse


@pytest.fixture(scope="module")
def seeded(engine):
    schema = f"chk_{uuid.uuid4().hex[:6]}"
    seed(engine, schema, users=150, days=8, start=date(2026, 3, 1), seed=5, progress=False)
    return schema


def _check(database_url, schema, *args):
    return salespulse("check", *args, env={"DATABASE_URL": database_url, "SOURCE_SCHEMA": schema})


def _configured_events(source, cfg, rename=None):
    """events_dict with every configured event name, `rename` = {name: stored name}."""
    names = [n for p in cfg.hanging.pipelines for n in (p.start, *p.end_events)]
    names += [s for s in cfg.funnel.steps if s != "purchase"] + list(cfg.experiment_events)
    for n in dict.fromkeys(names):
        source.event_id((rename or {}).get(n, n))


def test_healthy_database_exits_0(seeded, database_url, engine):
    proc = _check(database_url, seeded)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr
    assert out.splitlines()[0] == f"source schema {seeded} in the {server_label(engine.url)}"
    for metric in ("hanging", "new_payers", "funnel", "attribution", "campaigns"):
        assert f"metric {metric}: runs" in out
    assert "payments: ok: table" in out
    assert "events: info: happened_at is zoned (timestamptz)" in out
    assert "no index" not in out  # the seed's indexes are the contract's
    assert "every configured event name is present" in out
    assert "user_tags: ok: table" in out  # the seed has tags (scopes)
    doc = json.loads(_check(database_url, seeded, "--format", "json").stdout)
    assert doc["ok"] is True and doc["metrics"]["campaigns"]["runs"] is True
    assert {"level": "ok", "text": "table"} in doc["tables"]["web_events"]
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop table "{seeded}".user_tags')
    proc = _check(database_url, seeded)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "user_tags: warn: missing" in proc.stdout  # optional (scopes only), does not fail the check


def test_renamed_amount_is_named(source, database_url, cfg):
    _configured_events(source, cfg)
    with source.engine.begin() as conn:
        conn.exec_driver_sql(f'alter table "{source.schema}".payments rename column amount to amount_cents')
    proc = _check(database_url, source.schema)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stdout.splitlines()
    error = [ln for ln in lines if ln.startswith("payments: error:")]
    assert len(error) == 1 and "column payments.amount is missing" in error[0]
    assert "similar columns: amount_cents" in error[0]
    assert any(ln.startswith("metric new_payers: skipped: column payments.amount is missing") for ln in lines)
    assert "metric hanging: runs" in proc.stdout  # hanging closes purchase ends by events alone
    assert "Traceback" not in proc.stdout + proc.stderr


def test_event_name_off_by_one_letter(source, database_url, cfg):
    _configured_events(source, cfg, rename={"Назначение ВУ": "Назначенние ВУ"})
    proc = _check(database_url, source.schema)
    assert proc.returncode == 1
    assert ("events_dict: error: event 'Назначение ВУ' (hanging, funnel) is not in events_dict; "
            "nearest: 'Назначенние ВУ'") in proc.stdout
    assert "metric funnel: skipped: event 'Назначение ВУ' not in events_dict" in proc.stdout
    assert "metric new_payers: runs" in proc.stdout


def test_nearest_ignores_case_and_prefers_one_letter():
    names = ["Дозвон 2Л", "Дозвон 1Л", "Успешный ВУ", "Создание заявки"]
    assert nearest("дозвон 2л", names)[0] == "Дозвон 2Л"
    assert nearest("Создане заявки", names) == ["Создание заявки"]
    assert nearest("совсем другое", names) == []


@pytest.mark.parametrize("url, where", [
    ("postgresql://bob:s3cr3tpw@127.0.0.1:1/x", "the database x on 127.0.0.1:1 as bob"),
    ("postgresql://bob:s3cr3tpw@/x?host=/nonexistent", "the database x on the Unix socket /nonexistent/.s.PGSQL.5432 as bob"),
])
def test_unreachable_database_is_one_line_without_password(tmp_path, url, where):
    proc = salespulse("check", env={"DATABASE_URL": url})
    assert proc.returncode == 2
    assert "s3cr3tpw" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and f"cannot connect to {where}: " in proc.stderr


def test_server_label_names_the_address_the_url_reaches():
    assert server_label(sa.make_url("postgresql+psycopg2://bob:pw@db.local:6432/sales")) == \
        "database sales on db.local:6432 as bob"
    assert server_label(sa.make_url("postgresql://postgres:@/postgres?host=%2Fwork%2F.pgdata")) == \
        "database postgres on the Unix socket /work/.pgdata/.s.PGSQL.5432 as postgres"
    assert server_label(sa.make_url("postgresql:///x")) == "database x on libpq's default socket (PGHOST)"


def test_missing_tables_and_indexes(source, engine, cfg):
    """Missing tables skip their metrics; an equivalent index (same leading columns) counts; a
    missing one comes with the exact statement, written as the contract's."""
    _configured_events(source, cfg)
    s = source.schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop table "{s}".message_interactions, "{s}".web_events')
        conn.exec_driver_sql(f'drop index "{s}".events_event_time_idx')
        conn.exec_driver_sql(f'create index my_own on "{s}".events (event_id, happened_at, user_id)')
        conn.exec_driver_sql(f'drop index "{s}".payments_user_created_idx')
    required = dataclasses.replace(cfg, enabled=cfg.enabled | {"attribution": "on", "campaigns": "on"})
    report = run_check(engine, s, required)
    assert not report.ok  # the configuration requires both metrics whose tables are gone
    assert [m.name for m in report.metrics if not m.runs and not m.off] == ["attribution", "campaigns"]
    report = run_check(engine, s, cfg)  # "auto": they are off, and the source is ready
    assert report.ok and [m.name for m in report.metrics if m.off] == ["attribution", "campaigns"]
    lines = report.lines()
    assert f"web_events: warn: missing: no table or view {s}.web_events" in lines
    assert not any("events_event_time_idx" in ln for ln in lines)
    assert (
        "payments: warn: no index on (user_id, transaction_created_at) for a payer's first payment ever, "
        "and purchases after a funnel step or a message; run: CREATE INDEX CONCURRENTLY IF NOT EXISTS "
        f'payments_user_created_idx ON "{s}"."payments" (user_id, transaction_created_at) INCLUDE (amount);'
    ) in lines
    verdicts = {m.name: m for m in report.metrics}
    assert verdicts["attribution"].reason == "no table web_events"
    assert verdicts["campaigns"].reason == "no table message_interactions"
    assert verdicts["funnel"].runs and verdicts["funnel"].notes == (
        "without web_events: no breakdown of the cohort by acquisition channel",)  # payments is there


def test_check_only_reads(source, engine, cfg):
    """One READ ONLY transaction: a view that would write (nextval) is a finding, and writes nothing."""
    s = source.schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop table "{s}".user_tags')  # the fixtures make it a table
        conn.exec_driver_sql(f'create sequence "{s}".tick')
        conn.exec_driver_sql(f"""create view "{s}".user_tags as
            select nextval('"{s}".tick') as user_id, 'vip'::text as tag""")
    lines = run_check(engine, s, cfg).lines()
    assert any(ln.startswith(f"user_tags: error: cannot read view {s}.user_tags: ") and "read-only" in ln
               for ln in lines), lines
    with engine.begin() as conn:
        assert conn.exec_driver_sql(f'select last_value, is_called from "{s}".tick').one() == (1, False)


def test_partitioned_indexes_on_parent_or_every_partition(engine, cfg):
    """A partitioned parent's index counts, and so does one on every partition; one partition
    without it is a missing index, and the statement to run has no CONCURRENTLY (Postgres
    refuses it on a parent)."""
    from db.source import create_source_tables

    s = f"pchk_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        create_source_tables(conn, s, partitioned=True, months=(date(2026, 1, 1), date(2026, 2, 1)))
        conn.exec_driver_sql(f'drop index "{s}".events_user_time_idx')
        for part in ("events_2026_01", "events_2026_02", "events_default"):
            conn.exec_driver_sql(f'create index on "{s}".{part} (user_id, happened_at)')
    lines = run_check(engine, s, cfg).lines()
    assert "events: ok: partitioned table with 3 partitions" in lines
    assert not [ln for ln in lines if "no index" in ln], lines
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop index "{s}".events_2026_02_user_id_happened_at_idx')
    lines = run_check(engine, s, cfg).lines()
    expected = (
        "events: warn: no index on (user_id, happened_at) for per-user probes: the funnel's cohort "
        "events; run: CREATE INDEX IF NOT EXISTS events_user_time_idx "
        f'ON "{s}"."events" (user_id, happened_at) INCLUDE (event_id);'
    )
    assert [ln for ln in lines if "no index" in ln] == [expected]


def test_missing_schema_is_named(engine, cfg):
    report = run_check(engine, "no_such_schema", cfg)
    assert report.lines()[0] == ("no_such_schema: error: schema no_such_schema does not exist; "
                                 "set SOURCE_SCHEMA to the schema of the tables")
    assert not report.ok
