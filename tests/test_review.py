"""The week and the month in review on hand-built data (issue 26, docs/plan.md): the period's
numbers against the period before and a year earlier where the data reach, the movers' rules,
the plan's result, and its words."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from db.source import create_targets_table
from db.state import migrate
from metrics.day import ReportDay
from metrics.movers import Mover, mover, movers
from metrics.periods import MONTH, Period
from metrics.review import PeriodNumbers
from reports.request import ReportInputError, report_request
from reports.review import build_review
from reports.review_text import change, mover_line

MARCH = Period(MONTH, date(2026, 3, 1))


def at(d: date, h: int = 12) -> datetime:
    return datetime(d.year, d.month, d.day, h, tzinfo=UTC)


def test_the_mover_of_a_dimension():
    now = {"manager:a": 500.0, "manager:b": 100.0, "(no owner)": 9000.0, "manager:c": 300.0}
    before = {"manager:a": 200.0, "manager:b": 400.0, "(no owner)": 0.0}
    # a +300 (200 -> 500), b -300 (400 -> 100), c +300 (new): a tie of three, the first name wins;
    # the catch-all moved most of all and is never named
    assert mover("owner", now, before) == Mover("owner", "manager:a", "revenue", 500.0, 200.0)
    assert mover("owner", {"x": 1.0}, {"x": 1.0}) is None  # nothing changed
    cur = PeriodNumbers(MARCH, {}, slices={"owner": now, "pipeline": {"First line": 90.0}, "channel": {"Email": 50.0}})
    prev = PeriodNumbers(MARCH.previous(), {}, slices={"owner": before, "pipeline": {"First line": 40.0}})
    # channel: not in the period before (sessions not built then): no mover; money first, then pipelines
    assert [(m.dimension, m.key, m.change) for m in movers(cur, prev)] == [
        ("owner", "manager:a", 300.0), ("pipeline", "First line", 50.0)]
    assert mover_line(movers(cur, prev)[0], "en") == "Manager a: revenue +300 (+150%)"
    assert mover_line(Mover("channel", "Email", "revenue", 1500.0, 0.0), "ru") == "Канал Email: выручка +1\u00a0500 (новое)"
    assert (change(110, 100, "en"), change(5, 0, "en"), change(5, None, "en"), change(0, 0, "en")) == (
        "+10%", "new", "–", "0%")


@pytest.fixture
def company(source, engine):
    """Payments from February 2025 on (March 2025, February and March 2026); web data only from 2026 on."""
    source.payments(
        (7, at(date(2025, 2, 15)), 500),                                              # the data begin
        (1, at(date(2025, 3, 10)), 1000), (2, at(date(2025, 3, 20)), 1000),           # a year earlier: 2,000
        (3, at(date(2026, 2, 3)), 1500), (1, at(date(2026, 2, 27)), 1500),            # February: 3,000
        (4, at(date(2026, 3, 2)), 2000), (5, at(date(2026, 3, 31), 23), 1000),        # March: 3,000 + 600
        (3, at(date(2026, 3, 15)), 600),
        (6, at(date(2026, 4, 1)), 99999),                                             # April: not March's
    )
    source.tags((1, "manager:ivanov"), (3, "manager:petrov"), (4, "manager:petrov"), (5, "manager:ivanov"))
    source.insert("web_events", [{"anonymous_id": "a1", "user_id": 4, "happened_at": at(date(2026, 1, 5)),
                                  "page_url": "https://x.test/"}])
    with engine.begin() as conn:
        create_targets_table(conn, source.schema)
    source.insert("targets", [{"period_start": date(2026, 3, 1), "period": "month", "metric": "revenue",
                               "scope": None, "value": 3000}])
    migrate(engine, f"{source.schema}_st")
    return source.schema


def review(engine, cfg, schema, last=date(2026, 3, 31), kind="month", locale="en"):
    req = report_request(ReportDay(last, "UTC"), locale=locale, source_schema=schema, state_schema=f"{schema}_st")
    return build_review(engine, cfg, replace(req, period=kind), with_charts=False)


def test_a_month_against_the_one_before_and_a_year_earlier(engine, cfg, company):
    r = review(engine, cfg, company)
    numbers = {n["name"]: n for n in r.to_json()["numbers"]}
    assert (numbers["revenue"]["value"], numbers["revenue"]["previous"], numbers["revenue"]["year_ago"]) == (
        3600, 3000, 2000)
    # new payers: 4 and 5 are new in March (3 paid in February, 1 a year ago); 3 in February
    assert (numbers["new_payers"]["value"], numbers["new_payers"]["previous"]) == (2, 1)
    assert (numbers["payments"]["value"], numbers["payments"]["previous"], numbers["payments"]["year_ago"]) == (
        3, 2, 2)
    # web data begin in January 2026: sessions reach February, not March 2025
    assert numbers["sessions"]["previous"] == 0 and numbers["sessions"]["year_ago"] is None
    assert [(m["dimension"], m["key"], m["change"]) for m in r.to_json()["movers"]] == [
        ("owner", "manager:petrov", 1100.0)]  # petrov 1,500 -> 2,600; ivanov 1,500 -> 1,000
    assert r.to_json()["plan"][0] | {"target": 3000, "actual": 3600, "projected": 3600, "projected_share": 1.2,
                                     "days_done": 31, "days_total": 31} == r.to_json()["plan"][0]
    assert r.text.splitlines() == [
        "SalesPulse · March 2026 (UTC)", "",
        "🎯 Plan", "Revenue 3,600 of 3,000 (120%) ✅", "",
        "📊 Against February 2026 · against March 2025",
        "Revenue 3,600 · +20% · +80%", "New payers 2 · +100% · 0%", "Payments 3 · +50% · +50%",
        "Sessions 0 · 0% · –", "",
        "🚀 Biggest movers against February 2026", "Manager petrov: revenue +1,100 (+73%)",
    ]


def test_a_period_that_is_not_over_is_refused(engine, cfg, company):
    with pytest.raises(ReportInputError, match="not the last day of a month"):
        review(engine, cfg, company, last=date(2026, 3, 30))
    week = review(engine, cfg, company, last=date(2026, 3, 8), kind="week", locale="ru")
    assert week.text.splitlines()[0] == "SalesPulse · неделя 2—8 мар. 2026\u202fг. (UTC)"
    # 2-8 March 2026 against 23 February - 1 March and against 3-9 March 2025 (52 weeks before)
    assert week.to_json()["numbers"][0] == {"name": "revenue", "value": 2000, "previous": 1500, "year_ago": 0}
