"""`check` proves the indexes through views (reports.check_planner): the probe each index serves,
planned through the configured table or view, is "ok: index scan" or a warning with the statement
to run; and every table under the source without planner statistics is named with its ANALYZE."""
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from db import plans
from db.contract import CONTRACT
from reports.check import run_check
from tests.test_data_contract import _rename, doc_examples

SHOP_DDL = """
create schema shop;
create table shop.event_log (event_id bigint primary key, user_id bigint, platform text, event_type text,
    event_time timestamptz, price numeric, currency text, page_url text, referrer text, utm_source text,
    utm_medium text, utm_campaign text);
insert into shop.event_log (event_id, user_id, platform, event_type, event_time, price, currency)
select g, g % 50, case when g % 3 = 0 then 'ios' else 'web' end,
       case when g % 10 = 0 then 'purchase' when g % 4 = 0 then 'cart' else 'view' end,
       timestamptz '2026-03-01' + g * interval '7 minutes', case when g % 10 = 0 then 20 end, 'usd'
from generate_series(1, 3000) g;
"""
PROBES = sum(len(t.indexes) for t in CONTRACT.values())


def _probe_lines(lines):
    return [ln for ln in lines if "probes by (" in ln or "each probe" in ln]


def test_indexed_tables_are_ok(source, engine, cfg):
    """The contract's own tables with the contract's indexes: every probe is an index scan."""
    lines = run_check(engine, source.schema, cfg).lines()
    probes = _probe_lines(lines)
    assert len(probes) == PROBES == 13 and all(": ok: index scan for probes by (" in ln for ln in probes), probes
    assert ("web_events: ok: index scan for probes by (anonymous_id, happened_at): web_events_anon_time_idx, "
            "web_events_identity_idx") in probes  # both lead with anonymous_id
    assert "events: ok: index scan for probes by (user_id, happened_at): events_user_time_idx" in probes


@pytest.fixture
def shop(engine):
    """The docs' event-log example, run as written over a shop's one wide table (3,000 events)."""
    tag = uuid.uuid4().hex[:6]
    names = {"shop": f"shop_{tag}", "salespulse_src": f"salespulse_src_{tag}"}
    with engine.begin() as conn:
        conn.connection.cursor().execute(_rename(SHOP_DDL, names))  # `%` is modulo: no parameters
        conn.exec_driver_sql(f"create schema {names['salespulse_src']}")
        conn.connection.cursor().execute(_rename(doc_examples()["event log"], names))
    return names


def test_event_log_views_with_the_docs_indexes_are_ok(engine, cfg, shop):
    lines = run_check(engine, shop["salespulse_src"], cfg).lines()
    probes = _probe_lines(lines)
    assert probes == [
        "events: ok: index scan for probes by (happened_at): event_log_time_idx",
        # event_types (no index, one page) is read whole at no cost; event_log through its type
        "events: ok: index scan for probes by (event_id, happened_at): event_log_type_idx",
        "events: ok: index scan for probes by (user_id, happened_at): event_log_user_idx",
        "payments: ok: index scan for probes by (transaction_created_at): event_log_time_idx",
        "payments: ok: index scan for probes by (user_id, transaction_created_at): event_log_user_idx",
        "web_events: ok: index scan for probes by (happened_at): event_log_time_idx",
        "web_events: ok: index scan for probes by (user_id, happened_at): event_log_user_idx",
        # the session store's newest id and the rows above it: the docs' index and the fixture's key
        "web_events: ok: index scan for probes by (id): event_log_id_idx, event_log_pkey",
        "web_events: ok: index scan for probes by (anonymous_id, happened_at): event_log_device_idx",
    ]
    assert not [ln for ln in lines if "analyzed" in ln]  # the example ends with ANALYZE


def test_an_expression_id_without_its_index_is_named_with_the_statement(engine, cfg, shop):
    """The view's anonymous_id is user_id || ':' || platform: without an index on that expression
    every per-device probe reads the table by time; the statement check prints makes it ok."""
    s, src = shop["shop"], shop["salespulse_src"]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop index {s}.event_log_device_idx")
    statement = (f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "event_log_web_events_anon_time_idx" ON "{s}"."event_log" '
                 "((((user_id)::text || ':'::text) || platform), event_time);")
    warning = (f'web_events: warn: each probe scans "{s}"."event_log": anonymous_id is an expression in view '
               f"web_events; index that expression or materialize the view; run: {statement}")
    assert [ln for ln in run_check(engine, src, cfg).lines() if ": warn: each probe" in ln] == [warning]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)  # as the user would paste it
    lines = run_check(engine, src, cfg).lines()
    assert ("web_events: ok: index scan for probes by (anonymous_id, happened_at): "
            "event_log_web_events_anon_time_idx") in lines
    assert not [ln for ln in lines if ": warn: each probe" in ln]


def test_a_log_without_an_index_on_its_row_id_is_named(engine, cfg, shop):
    """The session store asks for the newest web_events id on every digest, then reads the rows
    above the last one it saw: without an index on the log's event_id both read the whole log,
    a cost that grows with history (the plan corpus: 0.7 s a digest at 8M rows)."""
    s, src = shop["shop"], shop["salespulse_src"]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"alter table {s}.event_log drop constraint event_log_pkey")
        conn.exec_driver_sql(f"drop index {s}.event_log_id_idx")
    warnings = [ln for ln in run_check(engine, src, cfg).lines() if ": warn: each probe" in ln]
    assert len(warnings) == 1 and warnings[0].startswith(
        f'web_events: warn: each probe scans "{s}"."event_log"'), warnings
    assert warnings[0].endswith(f'ON "{s}"."event_log" (event_id);'), warnings


def test_a_join_on_an_unindexed_column_is_named(engine, cfg, shop):
    """events joins the log to its types on event_type: without an index leading with it, a probe
    by event id reads the window's events of every type."""
    s, src = shop["shop"], shop["salespulse_src"]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop index {s}.event_log_type_idx")
    assert [ln for ln in run_check(engine, src, cfg).lines() if ": warn: each probe" in ln] == [(
        f'events: warn: each probe scans "{s}"."event_log": the view events joins it on event_type, which no '
        "index leads with; run: CREATE INDEX CONCURRENTLY IF NOT EXISTS "
        f'"event_log_events_event_time_idx" ON "{s}"."event_log" (event_type, event_time);')]


def test_a_view_that_cannot_pass_the_condition_down(source, engine, cfg):
    s = source.schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'alter table "{s}".user_tags rename to user_tags_raw')
        conn.exec_driver_sql(f"""insert into "{s}".user_tags_raw (user_id, tag)
            select g / 2, 'team:' || mod(g, 7) from generate_series(1, 5000) g""")  # past a lookup table's size
        # one tag per user, the first: a condition on the tag cannot be applied before that choice
        conn.exec_driver_sql(f"""create view "{s}".user_tags as
            select distinct on (user_id) user_id, tag from "{s}".user_tags_raw order by user_id, tag""")
    lines = run_check(engine, s, cfg).lines()
    assert (f'user_tags: warn: each probe scans "{s}"."user_tags_raw": view user_tags does not pass the condition '
            "on tag down to it (a DISTINCT, window function or aggregate in it stops it); materialize the view"
            ) in lines


def test_never_analyzed_tables_are_named_with_the_analyze_to_run(engine, cfg, shop):
    s, src = shop["shop"], shop["salespulse_src"]
    with engine.begin() as conn:  # a freshly loaded copy: the same rows, no statistics yet
        conn.exec_driver_sql(f"create table {s}.event_log_new (like {s}.event_log including all)")
        conn.exec_driver_sql(f"insert into {s}.event_log_new select * from {s}.event_log")
        conn.exec_driver_sql(f"alter table {s}.event_log rename to event_log_old")
        conn.exec_driver_sql(f"alter table {s}.event_log_new rename to event_log")
        for view in ("events", "payments", "web_events"):
            definition = conn.exec_driver_sql(f"select pg_get_viewdef('{src}.{view}'::regclass)").scalar_one()
            conn.exec_driver_sql(f"create or replace view {src}.{view} as "
                                 + definition.replace(f"{s}.event_log_old", f"{s}.event_log"))
    never = [ln for ln in run_check(engine, src, cfg).lines() if "never analyzed" in ln]
    assert never == [(
        f'events: warn: "{s}"."event_log" (under events, payments, web_events) never analyzed: the planner guesses '
        "its rows and values, and a guess of one row where there are thousands turns a probe per row into a scan "
        f'per row; run: ANALYZE "{s}"."event_log";')]
    with engine.begin() as conn:
        conn.exec_driver_sql(f'ANALYZE "{s}"."event_log"')
    assert not [ln for ln in run_check(engine, src, cfg).lines() if "analyzed" in ln]


def test_a_plain_table_never_analyzed(source, engine, cfg):
    s = source.schema
    source.payments((1, "2026-03-01 10:00+00", 10))
    lines = run_check(engine, s, cfg).lines()
    assert ("payments: warn: never analyzed: the planner guesses its rows and values, and a guess of one row "
            "where there are thousands turns a probe per row into a scan per row; "
            f'run: ANALYZE "{s}"."payments";') in lines
    assert not [ln for ln in lines if ln.startswith("web_events: warn: never")]  # empty: nothing to guess
    with engine.begin() as conn:
        conn.exec_driver_sql(f'ANALYZE "{s}"."payments"')
    assert not [ln for ln in run_check(engine, s, cfg).lines() if ln.startswith("payments: warn: never")]


def test_a_partitioned_table_needs_its_own_statistics_too(engine, cfg):
    """Autovacuum analyzes partitions, never their parent: a parent whose partitions were analyzed
    one by one still lacks the statistics of the whole; ANALYZE on the parent gives both."""
    from db.source import create_source_tables

    s = f"pst_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        create_source_tables(conn, s, partitioned=True, months=(date(2026, 1, 1), date(2026, 2, 1)))
        conn.exec_driver_sql(f"""insert into "{s}".payments (user_id, transaction_created_at, amount)
            values (1, '2026-01-10 10:00+00', 10), (2, '2026-02-10 10:00+00', 20)""")
        conn.exec_driver_sql(f'ANALYZE "{s}".payments_2026_01')
        conn.exec_driver_sql(f'ANALYZE "{s}".payments_2026_02')
    warning = ("payments: warn: never analyzed: the planner guesses its rows and values, and a guess of one row "
               "where there are thousands turns a probe per row into a scan per row; "
               f'run: ANALYZE "{s}"."payments";')
    assert warning in run_check(engine, s, cfg).lines()
    with engine.begin() as conn:
        conn.exec_driver_sql(f'ANALYZE "{s}"."payments"')
    assert not [ln for ln in run_check(engine, s, cfg).lines() if ln.startswith("payments: warn: never")]


def test_plan_text_helpers():
    cond = ("((e.event_time >= $2) AND (e.event_time < $3) AND "
            "((((e.user_id)::text || ':'::text) || e.platform) = $1))")
    parts = plans.conjuncts(cond)
    assert parts[:2] == ["(e.event_time >= $2)", "(e.event_time < $3)"]
    assert plans.operand(parts[2], 1) == "(((e.user_id)::text || ':'::text) || e.platform)"
    assert plans.operand(parts[0], 1) is None and plans.operand("(event_id = ANY ($1))", 1) == "event_id"
    assert plans.operand("((CASE WHEN (a = b) THEN x ELSE y END) = $1)", 1) == "(CASE WHEN (a = b) THEN x ELSE y END)"
    assert plans.unqualified("(e.x || 'e.y''e.z') || \"e\".w || ee.q", "e") == "(x || 'e.y''e.z') || w || ee.q"
    assert plans.aliases("((e.event_type = t.name) AND (e.x = 'a.b'))") == {"e", "t"}
    assert plans.join_side("(e.event_type = t.name)", "e") == "e.event_type"
    assert plans.same("((((user_id)::text || ':'::text) || platform))", "(((user_id)::text || ':'::text) || platform)")
    assert not plans.same("(NULLIF(user_id, ''::text))::bigint", "NULLIF(user_id, ''::text)")
    assert plans.is_column('"timestamp"') and not plans.is_column("lower(x)")
    assert plans.uses_param("(a = $1)", 1) and not plans.uses_param("(a = $12)", 1)


def test_probe_leaves_no_prepared_statement_or_setting(source, engine, cfg):
    """The probes run in check's read-only transaction and leave the session as they found it."""
    with engine.connect() as conn:
        conn.exec_driver_sql("set transaction read only")
        from reports.check_planner import probe_verdicts

        probe_verdicts(conn, source.schema, CONTRACT["events"], "table", list(CONTRACT["events"].indexes))
        assert conn.execute(sa.text("select count(*) from pg_prepared_statements where name = 'salespulse_probe'")
                            ).scalar_one() == 0
        assert conn.execute(sa.text("select current_setting('enable_seqscan')")).scalar_one() == "on"
