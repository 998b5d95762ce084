"""db/sql.py: identifiers quoted in one place, and `.sql` files of named steps."""
import pytest

from db.sql import compose, qualified, quote, steps


def test_quote_checks_then_quotes():
    assert quote("Web_Events") == '"Web_Events"'
    assert qualified("chk", "events") == '"chk"."events"'
    for bad in ('a"b', "a b", "1a", "", "a" * 64, "a:b"):
        with pytest.raises(ValueError, match="not a plain identifier"):
            quote(bad)


def test_steps_and_compose():
    named = {"a (x)": "select 1", "b": "select x + {k} as y from a", "c": "select '{}'::jsonb, y from b"}
    assert compose(named, {"k": "2"}) == (
        "with a (x) as (\nselect 1\n),\nb as (\nselect x + 2 as y from a\n)\nselect '{}'::jsonb, y from b")
    assert compose(named, {"k": "2"}, until="a") == "with a (x) as (\nselect 1\n)\nselect * from a"
    with pytest.raises(KeyError, match="{k}"):
        compose(named, {})


def test_campaigns_file_has_its_steps_in_order():
    names = list(steps("metrics.campaigns", "campaigns.sql"))
    assert names[0] == "fees (channel, fee)" and names[-1] == "report"
    assert names.index("period_sends") < names.index("period_touches") < names.index("ranked_credits")
