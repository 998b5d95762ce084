"""The Parquet export (the Spark build's lake input) of a web_events table as a company has it."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from db.parquet_export import export_web_events
from tests.test_attribution_fixtures import D, at, make_web


@pytest.fixture
def web(source, engine):
    return make_web(source, engine)


def test_the_optional_columns_a_table_lacks_are_left_out(web, source, tmp_path):
    # event_type and platform are in the contract but no metric reads them: a table without them
    # is a valid source, and its lake holds the columns it has (it used to fail on the select).
    web.hit(at(D, 9), "d1", 1)
    web.hit(at(D, 10), "d2")
    with source.engine.begin() as conn:
        conn.exec_driver_sql(f'alter table "{source.schema}".web_events drop column event_type, drop column platform')
    stats = export_web_events(source.engine, source.schema, tmp_path / "lake")
    table = pq.read_table(tmp_path / "lake")
    assert (stats.rows, table.num_rows) == (2, 2)
    assert {"event_type", "platform"}.isdisjoint(table.column_names)
    assert {"id", "anonymous_id", "user_id", "happened_at", "page_url", "referrer"} <= set(table.column_names)
    assert sorted(table.column("anonymous_id").to_pylist()) == ["d1", "d2"]


def test_a_missing_required_column_is_named(web, source, tmp_path):
    with source.engine.begin() as conn:
        conn.exec_driver_sql(f'alter table "{source.schema}".web_events drop column referrer')
    with pytest.raises(RuntimeError, match=r"lacks the column\(s\) referrer: run `salespulse check`"):
        export_web_events(source.engine, source.schema, tmp_path / "lake")
