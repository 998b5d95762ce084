"""Web events as Parquet files: the data-lake input of the Spark session build (DESIGN section 11).

`salespulse seed --parquet DIR` writes the source's web_events into DIR as part-NNNNN.parquet
files of the contract's columns, happened_at as a UTC instant (a naive column is read in the
engine's data time zone first, as every metric reads it). Rows stream through a server-side
cursor in id order, a bounded chunk at a time, so memory stays flat at any table size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from db.contract import CONTRACT
from db.sql import qualified

# the contract's web_events columns, optional ones included (the lake keeps what the table has)
COLUMNS = tuple(c.name for c in CONTRACT["web_events"].columns)
CHUNK = 500_000


@dataclass(frozen=True)
class ExportStats:
    rows: int
    files: int


def _schema():
    import pyarrow as pa

    types = {"id": pa.int64(), "user_id": pa.int64(), "happened_at": pa.timestamp("us", tz="UTC")}
    return pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])


def export_web_events(engine: Engine, schema: str, out: Path, chunk: int = CHUNK) -> ExportStats:
    """Write every web_events row of `schema` into `out` (created; old part files replaced)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("Parquet export needs pyarrow: pip install 'salespulse[spark]'") from None
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    arrow_schema = _schema()
    rows = files = 0
    select = ", ".join(f"w.{c}::timestamptz" if c == "happened_at" else f"w.{c}" for c in COLUMNS)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor(name="salespulse_parquet_export") as cur:
            cur.itersize = chunk
            cur.execute(f"select {select} from {qualified(schema, 'web_events')} w order by w.id")
            while batch := cur.fetchmany(chunk):
                cols = list(zip(*batch))
                table = pa.table({c: pa.array(v, type=arrow_schema.field(c).type) for c, v in zip(COLUMNS, cols)},
                                 schema=arrow_schema)
                pq.write_table(table, out / f"part-{files:05d}.parquet")
                rows, files = rows + len(batch), files + 1
        conn.rollback()
    return ExportStats(rows, files)
