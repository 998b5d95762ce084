"""Baselines' marks: the highest row id of each source table a store's kept days of one metric
have seen (each metric is brought up to date in its own call), so a row that arrives later (a
higher id) with an older time sends its days back to be computed (metrics.baselines.marks). A
store without marks trusts none of its kept days, so the kept days of before this revision are
computed once more.

Revision ID: 0014
"""
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade(schema: str) -> None:
    op.execute(f"""
    create table "{schema}".baseline_marks (
        store         text not null,     -- metrics.baselines.store.store_key, '|', the metric
        source_table  text not null,
        max_id        bigint not null,
        primary key (store, source_table)
    );
    """)


def downgrade(schema: str) -> None:
    op.execute(f'drop table "{schema}".baseline_marks')
