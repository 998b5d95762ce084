"""Web events as Parquet files: the data-lake input of the Spark session build (docs/scale.md).

`salespulse seed --parquet DIR` writes the source's web_events into DIR as part-NNNNN.parquet
files of the contract's columns, happened_at as a UTC instant (a naive column is read in the
engine's data time zone first, as every metric reads it). Rows stream through a server-side
cursor in id order, a bounded chunk at a time, so memory stays flat at any table size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from db.catalog import columns
from db.contract import CONTRACT
from db.sql import qualified

# the contract's web_events columns: the lake keeps the required ones and the optional ones the
# table has
COLUMNS = tuple(c.name for c in CONTRACT["web_events"].columns)
REQUIRED = tuple(c.name for c in CONTRACT["web_events"].columns if c.required)
CHUNK = 500_000


@dataclass(frozen=True)
class ExportStats:
    rows: int
    files: int


def _schema(names: tuple[str, ...]):
    import pyarrow as pa

    types = {"id": pa.int64(), "user_id": pa.int64(), "happened_at": pa.timestamp("us", tz="UTC")}
    return pa.schema([(c, types.get(c, pa.string())) for c in names])


def export_web_events(engine: Engine, schema: str, out: Path, chunk: int = CHUNK) -> ExportStats:
    """Write every web_events row of `schema` into `out` (created; old part files replaced)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("Parquet export needs pyarrow: pip install 'salespulse[spark]'") from None
    with engine.connect() as conn:
        have = columns(conn, schema, "web_events")
        if missing := [c for c in REQUIRED if c not in have]:
            raise RuntimeError(f"{schema}.web_events lacks the column(s) {', '.join(missing)}: "
                               "run `salespulse check` for what the table should hold")
        names = tuple(c for c in COLUMNS if c in have)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    arrow_schema = _schema(names)
    rows = files = 0
    select = ", ".join(f"w.{c}::timestamptz" if c == "happened_at" else f"w.{c}" for c in names)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor(name="salespulse_parquet_export") as cur:
            cur.itersize = chunk
            cur.execute(f"select {select} from {qualified(schema, 'web_events')} w order by w.id")
            while batch := cur.fetchmany(chunk):
                cols = list(zip(*batch))
                table = pa.table({c: pa.array(v, type=arrow_schema.field(c).type) for c, v in zip(names, cols)},
                                 schema=arrow_schema)
                pq.write_table(table, out / f"part-{files:05d}.parquet")
                rows, files = rows + len(batch), files + 1
        conn.rollback()
    return ExportStats(rows, files)
