"""The plan's table (issue 26, docs/plan.md): weeks and months, which rows a digest can use,
what `salespulse check` says of them, and `salespulse seed --targets`."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from db.source import create_targets_table
from metrics.periods import MONTH, WEEK, Period, containing, ending, last_complete
from metrics.targets import RawRow, Target, usable_targets
from reports.check import run_check


def test_weeks_and_months():
    march = Period(MONTH, date(2024, 3, 1))
    assert (march.end, march.days, march.previous(), march.year_before()) == (
        date(2024, 3, 31), 31, Period(MONTH, date(2024, 2, 1)), Period(MONTH, date(2023, 3, 1)))
    week = containing(WEEK, date(2024, 3, 14))  # a Thursday
    assert (week.start, week.end, week.previous().start) == (date(2024, 3, 11), date(2024, 3, 17), date(2024, 3, 4))
    assert week.year_before() == Period(WEEK, date(2023, 3, 13))  # 52 weeks: Monday under Monday
    assert ending(WEEK, date(2024, 3, 17)) == week and ending(WEEK, date(2024, 3, 16)) is None
    assert ending(MONTH, date(2024, 2, 29)).start == date(2024, 2, 1)
    assert last_complete(MONTH, date(2024, 3, 1)) == Period(MONTH, date(2024, 2, 1))
    assert last_complete(WEEK, date(2024, 3, 18)) == week  # on Monday: the week that ended yesterday
    with pytest.raises(ValueError, match="starts on 2024-03-11"):
        Period(WEEK, date(2024, 3, 12))


def row(start, period="month", metric="revenue", scope=None, value=100.0) -> RawRow:
    return RawRow(start, period, metric, scope, value)


def test_which_rows_a_digest_can_use():
    good, bad = usable_targets([
        row(date(2024, 3, 1)),
        row(date(2024, 3, 1), metric=" Payments ", scope="region:msk&team:north"),
        row(date(2024, 3, 11), period="week"),
        row(date(2024, 3, 1), metric="revenu"),
        row(date(2024, 3, 1), period="quarter"),
        row(date(2024, 3, 15)),
        row(date(2024, 3, 1), metric="new_payers", value=0),
        row(date(2024, 3, 1), scope="team north"),
        row(date(2024, 4, 1), metric="sessions"), row(date(2024, 4, 1), metric="sessions", value=5),
    ])
    assert good == [Target(Period(MONTH, date(2024, 3, 1)), "revenue", None, 100.0),
                    Target(Period(MONTH, date(2024, 3, 1)), "payments", "region:msk & team:north", 100.0),
                    Target(Period(WEEK, date(2024, 3, 11)), "revenue", None, 100.0)]
    why = [w for _, w in bad]
    assert why[:5] == ["metric 'revenu' cannot be planned", "period 'quarter' is not 'month' or 'week'",
                       "a month's plan starts on its first day, not 2024-03-15", "value 0 is not a positive number",
                       ("scope 'team north' does not parse: 'team north' is not a scope: a tag has letters, digits and "
                       "the characters : . / @ + - _ (team:north, manager:ivanov); join several with & "
                       "(team:north & region:msk), or give * for the whole company")]
    assert why[5:] == ["2 rows plan sessions for the month of 2024-04-01 (company): overlapping periods, none is used"] * 2


def test_check_names_every_row_no_digest_can_use(source, engine, cfg):
    without = run_check(engine, source.schema, cfg)
    missing = [f for f in without.findings if f.table == "targets"]
    assert [(f.level, f.text) for f in missing] == [
        ("info", f"missing: no table or view {source.schema}.targets (optional: the plan, docs/plan.md)")]
    source.tags((1, "team:north"))
    with engine.begin() as conn:
        create_targets_table(conn, source.schema)
    source.insert("targets", [
        {"period_start": date(2024, 3, 1), "period": "month", "metric": m, "scope": s, "value": v}
        for m, s, v in (("revenue", None, 7.5e6), ("revenue", "team:north", 1e6), ("revenue", "team:east", 1e6),
                        ("revenu", None, 1), ("payments", None, 10), ("payments", None, 12))])
    report = run_check(engine, source.schema, cfg)
    lines = [ln for ln in report.lines() if ln.startswith("targets:")]
    assert lines == [
        "targets: ok: table",
        "targets: ok: columns: 5 of the contract present with usable types",
        ("targets: ok: 3 plans (3 monthly) from 2024-03-01 to 2024-03-31: revenue; scopes: company, team:east, "
        "team:north"),
        ("targets: error: row 2024-03-01 month revenu (company): metric 'revenu' cannot be planned; nearest: "
        "'revenue'; no digest uses it"),
        ("targets: error: row 2024-03-01 month payments (company): 2 rows plan payments for the month of 2024-03-01 "
        "(company): overlapping periods, none is used; no digest uses it"),
        ("targets: error: row 2024-03-01 month payments (company): 2 rows plan payments for the month of 2024-03-01 "
        "(company): overlapping periods, none is used; no digest uses it"),
        "targets: warn: scope 'team:east' (1 plans): nobody carries these tags, so no digest shows them",
    ]
    assert report.metrics == without.metrics  # the plan never stops (or starts) a metric
    with engine.begin() as conn:  # a view that casts its date to text is named for it
        conn.exec_driver_sql(f'alter table "{source.schema}".targets alter column period_start type text')
    (bad,) = [f for f in run_check(engine, source.schema, cfg).findings if f.level == "error" and f.table == "targets"]
    assert bad.text.startswith("column targets.period_start is text, expected date")


def test_seed_adds_a_plausible_plan(engine):
    import uuid

    from db.seed import Volumes, seed
    from db.seed_targets import add_targets

    schema = f"sdt_{uuid.uuid4().hex[:8]}"
    seed(engine, schema, users=800, days=45, start=date(2024, 1, 1), seed=5, progress=False,
         volumes=Volumes(web_events_per_user_day=0.05, sends_per_user_day=0.02))
    assert add_targets(engine, schema, date(2024, 1, 1), 45) == add_targets(engine, schema, date(2024, 1, 1), 45)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'select period_start, period, metric, scope, value::float8 from "{schema}".targets '
                                    "order by 1, 2, 3, 4 nulls first")).all()
        january = conn.execute(sa.text(f"""select sum(amount)::float8 from "{schema}".payments
            where amount > 0 and transaction_created_at < '2024-02-01'""")).scalar()
    months = [r for r in rows if r.period == "month"]
    assert {(r.period_start, r.metric, r.scope) for r in months} >= {
        (date(2024, m, 1), x, None) for m in (1, 2) for x in ("revenue", "new_payers", "payments")}
    assert {r.scope for r in months} == {None, "team:north", "team:south", "team:west"}
    (plan,) = [r.value for r in months if (r.period_start, r.metric, r.scope) == (date(2024, 1, 1), "revenue", None)]
    assert 0.9 * january - 500 <= plan <= 1.15 * january + 500  # the month's own pace, a factor of 0.9-1.15
    assert {r.period_start.weekday() for r in rows if r.period == "week"} == {0}
    with engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{schema}" cascade')


def test_every_plannable_number_is_a_checked_number_that_sums():
    from metrics.targets import PLANNED
    from reports.registry import number

    for name, (metric, field) in PLANNED.items():
        if name == "conversions":  # the send channels' credited conversions added up (metrics.pace)
            assert number(metric, "conversion_rate") is not None
            continue
        n = number(metric, field)
        assert n is not None and n.sums and n.total and n.name == name, name
