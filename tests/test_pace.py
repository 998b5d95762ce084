"""The plan's pace (issue 26, docs/plan.md) on a month worked by hand.

The fixture: April 2026 (30 days, the 1st a Wednesday), report day D = Thursday 16 April. Every
day from D-84 on has payments in a fixed weekday profile and nothing else changes: Mon 32, Tue 30,
Wed 20, Thu 20, Fri 33, Sat 25, Sun 25 payments (185 a week), each 10,000 by a user of its own
(so new payers = payments); every other payment of a day (the 1st, 3rd, ...) is team:north's:
16, 15, 10, 10, 17, 13, 13 (94 a week).

By hand, company-wide:
    1-16 April = two Wednesday-to-Tuesday weeks + Wednesday 15 + Thursday 16
        payments 2 x 185 + 20 + 20 = 410; revenue 4,100,000
    17-30 April (Friday to Thursday) = exactly two weeks: the model expects the profile back,
        payments 2 x 185 = 370; money at its log-normal mean, median x exp(sigma^2 / 2) with
        sigma at its floor of 0.02 (a history without noise): 3,700,000 x e^0.0002 = 3,700,740.07
    projected: payments 780, revenue 7,800,740.07
    plans: revenue 7,500,000 -> 55% done, on pace for 104.01%; payments 820 -> 50%, 95.12%
team:north: 2 x 94 + 10 + 10 = 208 done, 2 x 94 = 188 ahead, 396 projected; plan 400 -> 52%, 99%.

The model is the detector's: its weak priors (on the trend and the weekday profile) keep it
within 0.01% of a noise-free profile, so `projected` is compared to that precision; everything
the reader sees (the line, the shares in percent) exactly.
"""
from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from db.source import create_targets_table
from db.state import migrate
from metrics.day import ReportDay
from metrics.pace import Pace
from metrics.periods import MONTH, WEEK, Period
from reports.digest import build_digest
from reports.plan import pace_line
from reports.request import report_request

D = date(2026, 4, 16)
PROFILE = (32, 30, 20, 20, 33, 25, 25)  # Monday first
AMOUNT = 10_000
E = math.exp(0.02 ** 2 / 2)


@pytest.fixture(scope="module")
def month(engine):
    """The source schema with 85 days of payments, the plans and the tags; its state schema."""
    from tests.conftest import _make_source

    source = _make_source(engine, naive=False)
    rows, tags, user = [], [], 0
    for back in range(84, -1, -1):
        d = D - timedelta(days=back)
        for i in range(PROFILE[d.weekday()]):
            user += 1
            rows.append((user, datetime(d.year, d.month, d.day, 12, i, tzinfo=UTC), AMOUNT))
            if i % 2 == 0:
                tags.append((user, "team:north"))
    source.payments(*rows)
    source.tags(*tags)
    with engine.begin() as conn:
        create_targets_table(conn, source.schema)
    source.insert("targets", [
        {"period_start": date(2026, 4, 1), "period": "month", "metric": "revenue", "scope": None, "value": 7_500_000},
        {"period_start": date(2026, 4, 1), "period": "month", "metric": "payments", "scope": None, "value": 820},
        {"period_start": date(2026, 4, 1), "period": "month", "metric": "payments", "scope": "team:north",
         "value": 400},
        # another month's plan and another scope's: neither is this digest's
        {"period_start": date(2026, 3, 1), "period": "month", "metric": "revenue", "scope": None, "value": 1},
        {"period_start": date(2026, 4, 1), "period": "month", "metric": "revenue", "scope": "team:south",
         "value": 5},
    ])
    state = f"{source.schema}_state"
    migrate(engine, state)
    return source.schema, state


def digest(engine, cfg, schemas, scope=None, locale="en"):
    req = report_request(ReportDay(D, "UTC"), locale=locale, scope=scope, metrics=("new_payers",),
                         source_schema=schemas[0], state_schema=schemas[1])
    return build_digest(engine, cfg, req, with_charts=False)


def test_the_month_worked_by_hand(engine, cfg, month):
    d = digest(engine, cfg, month)
    pace = d.to_json()["pace"]
    assert [(p["metric"], p["scope"]) for p in pace] == [("revenue", None), ("payments", None)]
    revenue, payments = pace
    fixed = {"period": "month", "start": "2026-04-01", "end": "2026-04-30", "days_done": 16, "days_total": 30}
    assert revenue | fixed == revenue and payments | fixed == payments
    assert (revenue["target"], revenue["actual"]) == (7_500_000, 4_100_000)
    assert revenue["projected"] == pytest.approx(4_100_000 + 3_700_000 * E, rel=1e-4)
    assert revenue["projected_share"] == pytest.approx((4_100_000 + 3_700_000 * E) / 7_500_000, rel=1e-4)
    assert (payments["target"], payments["actual"]) == (820, 410)
    assert payments["projected"] == pytest.approx(780, rel=1e-4)
    assert payments["projected_share"] == pytest.approx(780 / 820, rel=1e-4)
    lines = d.text.splitlines()
    at = lines.index("🎯 Plan")
    assert lines[at + 1:at + 3] == [
        "Revenue 4.1M of 7.5M (55%) · day 16 of 30 · on pace for 104%",
        "Payments 410 of 820 (50%) · day 16 of 30 · on pace for 95%",
    ]
    assert lines[at - 1] == "" and lines[at + 3] == ""  # a block of its own, before the metrics


def test_a_scope_reads_its_own_plan(engine, cfg, month):
    d = digest(engine, cfg, month, scope="team:north", locale="ru")
    (p,) = d.to_json()["pace"]
    assert (p["metric"], p["scope"], p["target"], p["actual"]) == ("payments", "team:north", 400, 208)
    assert p["projected"] == pytest.approx(396, rel=1e-4)
    assert "Платежи 208 из 400 (52%) · день 16 из 30 · прогноз 99%" in d.text.splitlines()


def test_pace_arithmetic_and_its_edges():
    p = Pace("payments", None, Period(MONTH, date(2026, 4, 1)), 820.0, D, (10.0,) * 16, (20.0,) * 14)
    assert (p.actual, p.projected, p.share, p.projected_share) == (160, 440, 0.1951, 0.5366)
    assert p.cumulative()[:3] == [10, 20, 30] and p.projected_path()[:2] == [180, 200]
    no_model = Pace("payments", None, p.period, 820.0, D, (10.0,) * 16, None)
    assert (no_model.projected, no_model.projected_share) == (None, None)
    assert pace_line(no_model, "en") == "Payments 160 of 820 (20%) · day 16 of 30"
    last = Pace("revenue", None, Period(WEEK, date(2026, 4, 13)), 1e6, date(2026, 4, 19), (2e5,) * 7, ())
    assert (last.complete, last.projected, last.projected_share) == (True, 1.4e6, 1.4)
    assert pace_line(last, "en") == "Revenue this week 1.4M of 1.0M (140%) · day 7 of 7"


def test_pace_alerts_read_the_projected_percent_of_plan(engine, cfg, month):
    from reports.alert_eval import Days, Reader, backtest
    from reports.alert_machine import Outcome
    from reports.alert_rules import parse_rule
    from reports.request import ReportInputError

    schema, state = month
    reader = Reader(engine, schema, cfg, state)

    def reading(rule: str, scope=None):
        return reader.read(parse_rule(rule, cfg), scope, day=ReportDay(D, "UTC"))

    r = reading("revenue.pace < 90")
    assert (r.outcome, r.value) == (Outcome.CLEAR, pytest.approx((4_100_000 + 3_700_000 * E) / 75_000, abs=0.01))
    assert reading("payments.pace < 96").outcome is Outcome.HOLDS            # 95.12%
    north = reading("Payments.Pace <= 99.5", scope="team:north")             # its own plan: 99%
    assert (north.outcome, north.value) == (Outcome.HOLDS, pytest.approx(99.0, abs=0.02))
    week = reading("revenue.pace.week < 90")
    assert week.outcome is Outcome.NODATA and "no plan" in week.detail       # no plan for the week
    with pytest.raises(ReportInputError, match="no usual band"):
        parse_rule("revenue.pace unusual", cfg)
    days = backtest(reader, parse_rule("revenue.pace > 103", cfg), Days(D, 3, "UTC"))
    assert [d.day for d in days] == [D - timedelta(days=2), D - timedelta(days=1), D]
    assert all(d.reading.value is not None for d in days) and days[-1].firing


@pytest.mark.parametrize("locale", ["en", "ru", "vi", "zh"])
def test_the_burn_up_renders_in_every_language(locale):
    """A month under way (with its projection) and a week that is over (its result), strictly: a
    missing glyph is a failure. The ru and zh images were looked at by eye (issue 26)."""
    import io
    import warnings

    from PIL import Image

    from charts.burnup import render
    from charts.style import WIDTH_PX

    under_way = Pace("revenue", None, Period(MONTH, date(2026, 4, 1)), 7.5e6, D,
                     tuple(PROFILE[(date(2026, 4, 1) + timedelta(days=i)).weekday()] * 1e4 for i in range(16)),
                     tuple(PROFILE[(D + timedelta(days=i + 1)).weekday()] * 1e4 for i in range(14)))
    over = Pace("payments", "team:north", Period(WEEK, date(2026, 4, 6)), 200.0, date(2026, 4, 12),
                (30.0, 28.0, 20.0, 21.0, 35.0, 24.0, 30.0), ())
    for p in (under_way, over):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            png = render(p, locale)
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width == WIDTH_PX and len(png) < 1_000_000
