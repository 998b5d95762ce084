"""Benchmark datasets: one Postgres schema per history size, generated once and kept.

Each dataset is `db.seed.seed` over `months * 30` days ending on a fixed report day, at a fixed
*daily* volume, so the only thing that grows between sizes is history. db.seed counts volume per
user and day over the whole seeded population (`web_events_per_user_day * users` rows a day), so
a fixed daily volume means dividing by the number of users:

    users            = leads_per_day * days          (every user sends one first request)
    web per user-day = web_per_day  / users
    sends per user-day = sends_per_day / users

A marker table `<schema>._bench_dataset` records the parameters; a schema whose marker is missing
or differs is dropped and generated again, so a run never mixes sizes. The schema name carries
the volume too, so a quick scaled run never overwrites the full-size datasets.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# The last day of every dataset and the day the digest is computed for. Fixed, not "yesterday",
# so the datasets (and the numbers) are the same on every run.
REPORT_DAY = date(2026, 10, 31)
DAYS_PER_MONTH = 30
MARKER = "_bench_dataset"


@dataclass(frozen=True)
class DatasetSpec:
    months: int
    leads_per_day: int
    web_per_day: int
    sends_per_day: int
    seed: int = 42

    @property
    def days(self) -> int:
        return self.months * DAYS_PER_MONTH

    @property
    def users(self) -> int:
        return self.leads_per_day * self.days

    @property
    def start(self) -> date:
        return REPORT_DAY - timedelta(days=self.days - 1)

    @property
    def schema(self) -> str:
        return f"bench_m{self.months}_l{self.leads_per_day}_w{self.web_per_day}"

    @property
    def state_schema(self) -> str:
        return self.schema + "_state"

    def params(self) -> dict:
        return asdict(self) | {"days": self.days, "users": self.users, "start": self.start.isoformat(),
                               "report_day": REPORT_DAY.isoformat(), "generator": "db.seed.seed"}


@dataclass(frozen=True)
class Dataset:
    spec: DatasetSpec
    rows: dict[str, int]  # per source table
    bytes: int  # total size of the schema (tables + indexes)
    seeded_seconds: float  # 0 when it was already there


def _marker(engine: Engine, schema: str) -> dict | None:
    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": f'"{schema}".{MARKER}'}).scalar() is None:
            return None
        return conn.exec_driver_sql(f'select params from "{schema}".{MARKER}').scalar()


def _drop(engine: Engine, spec: DatasetSpec) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema if exists "{spec.schema}" cascade')
        conn.exec_driver_sql(f'drop schema if exists "{spec.state_schema}" cascade')


def ensure(engine: Engine, spec: DatasetSpec, progress: bool = True) -> Dataset:
    """The dataset of `spec`, generated now unless a schema with the same parameters exists."""
    from db.seed import Volumes, seed

    took = 0.0
    if _marker(engine, spec.schema) != spec.params():
        _drop(engine, spec)
        vol = Volumes(web_events_per_user_day=spec.web_per_day / spec.users,
                      sends_per_user_day=spec.sends_per_day / spec.users)
        began = time.perf_counter()
        seed(engine, spec.schema, users=spec.users, days=spec.days, start=spec.start, seed=spec.seed,
             progress=progress, volumes=vol)
        took = time.perf_counter() - began
        with engine.begin() as conn:
            conn.exec_driver_sql(f'create table "{spec.schema}".{MARKER} (params jsonb not null)')
            conn.execute(sa.text(f'insert into "{spec.schema}".{MARKER} values (cast(:p as jsonb))'),
                         {"p": json.dumps(spec.params())})
    _day_rows_last(engine, spec)
    vacuum_once(engine, spec.schema)
    return Dataset(spec, table_rows(engine, spec.schema), schema_bytes(engine, spec.schema), took)


def _day_rows_last(engine: Engine, spec: DatasetSpec) -> None:
    """Give the report day's web rows the highest ids, once per dataset.

    The seeder numbers rows in generation chunks (a chunk spans days and is ordered by device),
    so "the newest ids" is not "the report day's rows". A bot that runs every morning sees as new
    exactly the rows that arrived since yesterday; renumbering D's rows to the end makes
    "id above the watermark" mean just that (bench.measure.rewind_sessions relies on it).
    """
    done = f'"{spec.schema}"._bench_day_rows_last'
    with engine.begin() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": done}).scalar() is not None:
            return
        day_start = datetime.combine(REPORT_DAY, datetime.min.time(), UTC)
        web = f'"{spec.schema}".web_events'
        conn.execute(sa.text(
            f"update {web} set id = id + (select max(id) from {web}) where happened_at >= :d"), {"d": day_start})
        conn.exec_driver_sql(f"select setval(pg_get_serial_sequence('{web}', 'id'), (select max(id) from {web}))")
        conn.exec_driver_sql(f"create table {done} (at timestamptz default now())")
        conn.exec_driver_sql(f"analyze {web}")


def vacuum_once(engine: Engine, schema: str) -> None:
    """VACUUM (ANALYZE) the source tables once, as autovacuum would have long done on a real database.

    This server runs with autovacuum off, so bulk-loaded tables have no visibility map: every
    index-only scan (the experiment-exclusion probes of events (user_id, happened_at)) fetches the
    heap too, which made those probes several times slower and history-dependent (measured: 170k
    heap fetches for new payers at 24 months).
    """
    from db.source import SOURCE_TABLES

    with engine.connect() as conn:
        if conn.execute(sa.text("select to_regclass(:t)"), {"t": f'"{schema}"._bench_vacuumed'}).scalar():
            return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in SOURCE_TABLES:
            conn.exec_driver_sql(f'vacuum (analyze) "{schema}".{t}')
        conn.exec_driver_sql(f'create table "{schema}"._bench_vacuumed (at timestamptz default now())')


def table_rows(engine: Engine, schema: str) -> dict[str, int]:
    """Exact row counts (count(*) once per run; cheap next to the measurements)."""
    from db.source import SOURCE_TABLES

    with engine.connect() as conn:
        return {t: conn.exec_driver_sql(f'select count(*) from "{schema}".{t}').scalar() for t in SOURCE_TABLES}


def schema_bytes(engine: Engine, schema: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = :s and c.relkind = 'r'"
        ), {"s": schema}).scalar())
