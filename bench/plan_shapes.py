"""The source shapes of the plan corpus (bench/plans.py), built from the deterministic seeder.

    python -m bench.plan_shapes seeded --schema S --users N --days D --start YYYY-MM-DD
    python -m bench.plan_shapes partitioned --schema S --users N --days D --start YYYY-MM-DD

`seeded`: the contract's plain tables (`salespulse seed`). `partitioned`: the same rows (same
seeder, same seed) in tables declaratively partitioned by month on their time column
(db.source.create_source_tables(partitioned=True)), as a company with big tables keeps them. The
third shape, the docs' views over one wide event table, is bench/shop.py's. The seeder ends with
VACUUM (ANALYZE) of every table, so the plans are those of tables with statistics.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from db.engine import engine_from_settings
from db.seed import seed
from db.settings import load_settings
from db.source import create_source_tables


def build(engine, shape: str, schema: str, users: int, days: int, start: date) -> None:
    if shape == "partitioned":
        last = start + timedelta(days=days)
        with engine.begin() as conn:
            create_source_tables(conn, schema, partitioned=True, months=(start.replace(day=1), last))
    seed(engine, schema, users=users, days=days, start=start, progress=False)  # ends with VACUUM (ANALYZE)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.plan_shapes", description=__doc__.split("\n\n")[0])
    p.add_argument("shape", choices=("seeded", "partitioned"))
    p.add_argument("--schema", required=True)
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--start", type=date.fromisoformat, required=True)
    args = p.parse_args(argv)
    engine = engine_from_settings(load_settings())
    build(engine, args.shape, args.schema, args.users, args.days, args.start)
    print(f"{args.shape} {args.schema}: {args.users} users x {args.days} days from {args.start}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
