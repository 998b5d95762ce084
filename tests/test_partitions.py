"""Source tables partitioned by month, and sources that are plain views: found, and every metric
gives the same numbers on them as on plain tables; a report day reads only its partitions."""
import dataclasses
import uuid
from datetime import UTC, date, timedelta

import pytest
import sqlalchemy as sa

from db.seed import seed
from db.source import SOURCE_TABLES, create_source_tables, inspect_source
from db.state import migrate
from metrics import hanging
from metrics.day import ReportDay
from reports.serialize import jsonable
from tests.conftest import run_metrics

D = date(2026, 3, 8)
MONTHS = (date(2026, 1, 1), date(2026, 4, 1))


@pytest.fixture(scope="module")
def schemas(engine):
    """The same seeded data three ways: plain tables, partitioned tables, views over the plain ones."""
    tag = uuid.uuid4().hex[:6]
    plain, parted, views = f"pl_{tag}", f"pa_{tag}", f"vw_{tag}"
    with engine.begin() as conn:
        create_source_tables(conn, parted, partitioned=True, months=MONTHS)
    for schema in (plain, parted):
        seed(engine, schema, users=150, days=10, start=date(2026, 2, 27), seed=11, progress=False)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'create schema "{views}"')
        for t in SOURCE_TABLES:
            conn.exec_driver_sql(f'create view "{views}"."{t}" as select * from "{plain}"."{t}"')
    for schema in (plain, parted, views):
        migrate(engine, f"st_{schema}")
    return plain, parted, views


def test_inspect_finds_partitioned_parents_and_views_not_partitions(engine, schemas):
    parted = schemas[1]
    with engine.connect() as conn:
        for schema in schemas:
            assert inspect_source(conn, schema).tables == frozenset(SOURCE_TABLES)
        # a partition is never a source table, even one named like a source table
        conn.exec_driver_sql(f'create schema "x_{parted}"')
        conn.exec_driver_sql(
            f'create table "x_{parted}".payments partition of "{parted}".payments '
            "for values from ('2030-01-01') to ('2030-02-01')"
        )
        assert inspect_source(conn, f"x_{parted}").tables == frozenset()
        conn.rollback()


def test_every_metric_same_numbers_on_partitions_and_views(engine, schemas, cfg):
    results = {}
    for schema in schemas:
        out = run_metrics(engine, schema, cfg, ReportDay(D, "Europe/Moscow"), state_schema=f"st_{schema}")
        assert all(o.skipped is None for o in out.values()), {n: o.skipped for n, o in out.items()}
        results[schema] = {n: jsonable(o.result) for n, o in out.items()}
    plain, parted, views = schemas
    assert results[parted] == results[plain]
    assert results[views] == results[plain]
    # not a vacuous equality: the seeded day has numbers
    assert results[plain]["new_payers"]["payments"] > 0
    assert results[plain]["attribution"]["sessions"] > 0
    assert any(p["hanging"] + p["open_within_sla"] for p in results[plain]["hanging"]["pipelines"])


def _scans(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


@pytest.mark.parametrize("naive", [False, True])
def test_report_day_reads_only_its_partitions(engine, schemas, cfg, naive):
    """EXPLAIN of the hanging query: the window scans (on happened_at) touch only the months of
    [T - 30 days, T) = [2026-02-07, 2026-03-09): February and March, not January, April or the
    default partition. The per-user exclusion probe (by user_id) is an index probe of each.
    Naive columns compare with the zoned bounds through a stable cast, so Postgres prunes at
    executor start-up instead of planning: the plan shows the same partitions."""
    parted = schemas[1]
    if naive:
        parted = f"nv_{parted}"
        with engine.begin() as conn:
            create_source_tables(conn, parted, naive_timestamps=True, partitioned=True, months=MONTHS)
    cfg = dataclasses.replace(cfg, hanging=dataclasses.replace(cfg.hanging, lookback_days=30))
    day = ReportDay(D, "UTC")
    cutoff = day.end.astimezone(UTC)
    with engine.connect() as conn:
        src = inspect_source(conn, parted)
        sql = hanging._sql(src, ends_on_purchase=True)
        params = {"start_ids": [1, 2], "end_ids": [3], "excluded_ids": [-1], "cutoff": cutoff,
                  "lookback_start": cutoff - timedelta(days=30), "sla_cutoff": cutoff - timedelta(hours=24),
                  "breach_from": day.start.astimezone(UTC) - timedelta(hours=24), "owner_prefix": "manager:"}
        plan = conn.execute(sa.text("explain (format json) " + sql), params).scalar_one()[0]["Plan"]
    windowed: dict[str, set[str]] = {"events": set(), "payments": set()}
    for node in _scans(plan):
        rel = node.get("Relation Name", "")
        cond = node.get("Index Cond", "") + node.get("Recheck Cond", "") + node.get("Filter", "")
        for table, col in (("events", "happened_at"), ("payments", "transaction_created_at")):
            if rel.startswith(f"{table}_") and col in cond:
                windowed[table].add(rel)
    assert windowed == {"events": {"events_2026_02", "events_2026_03"},
                        "payments": {"payments_2026_02", "payments_2026_03"}}
