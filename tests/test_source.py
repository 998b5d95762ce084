"""db/source.py: schema and table names are checked where they are quoted into SQL (db.sql); what counts as a table."""
import pytest

from db.source import Source, create_source_tables, inspect_source, source_ddl


@pytest.mark.parametrize("bad", ['x"; drop table payments; --', "", "1abc", "a b", "a" * 64])
def test_schema_must_be_a_plain_identifier(bad):
    with pytest.raises(ValueError) as err:
        Source(schema=bad)
    message = str(err.value)
    assert "\n" not in message and "not a plain identifier" in message and repr(bad) in message
    with pytest.raises(ValueError):
        Source(schema="public", state_schema=bad)
    with pytest.raises(ValueError):
        source_ddl(bad)


def test_inspect_and_create_refuse_a_bad_schema_before_any_sql(engine):
    with engine.connect() as conn:
        with pytest.raises(ValueError):
            inspect_source(conn, 'x"y')
        with pytest.raises(ValueError):
            create_source_tables(conn, 'x"y')
        # nothing was sent: the transaction is still usable
        assert conn.exec_driver_sql("select 1").scalar() == 1


def test_views_count_as_tables(source, engine):
    s = source.schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop table "{s}".payments')
        conn.exec_driver_sql(f'create view "{s}".payments as select 1::bigint as id')
        assert "payments" in inspect_source(conn, s).tables
        conn.exec_driver_sql(f'drop view "{s}".payments')
        assert "payments" not in inspect_source(conn, s).tables


@pytest.mark.parametrize("bad", ['web"; drop table payments; --', "a.b", "", "a:b"])
def test_table_names_are_checked_where_they_are_quoted(bad):
    src = Source(schema="chk", state_schema="st")
    assert src.table("web_events") == '"chk"."web_events"'
    assert src.state_table("attribution_sessions") == '"st"."attribution_sessions"'
    with pytest.raises(ValueError, match="not a plain identifier"):
        src.table(bad)
    with pytest.raises(ValueError, match="not a plain identifier"):
        src.state_table(bad)
