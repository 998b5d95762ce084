"""Alert rules against real Postgres: hanging at an instant, flow readings from the baselines, the
backtest, and the store applying the state machine (log rows, the notices ledger)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.alerts.notices import NoticeEvent
from bot.alerts.store import AlertStore
from db.state import migrate
from metrics import hanging
from metrics.day import ReportDay
from metrics.hanging.now import hanging_at
from reports.alert_eval import Days, Reader, Reading, backtest, due_day
from reports.alert_machine import Outcome, State
from reports.alert_rules import parse_rule

S2, E2 = "Назначена задача на вторую линию", "Дозвон 2Л"  # "Second line": S2 -> E2, SLA 24 h
D = date(2024, 3, 14)  # a Thursday
WEEKLY = [18, 20, 22, 20, 19, 21, 20, 20]  # new payers on the 8 Thursdays before D, D-7 first


def at(d: date, h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=UTC)


def second_line(source):
    day = date(2024, 3, 12)
    source.events(
        (1, S2, at(day, 10) - timedelta(days=2)),   # open since 03-10 10:00
        (2, S2, at(day, 12) - timedelta(days=1)),   # open since 03-11 12:00: hangs from 03-12 12:00
        (3, S2, at(day, 10) - timedelta(days=2)),   # closed at 03-11 10:00
        (3, E2, at(day, 10) - timedelta(days=1)),
        (4, S2, at(day, 10) - timedelta(days=2)),   # closed at 03-12 10:00: hangs until then
        (4, E2, at(day, 10)),
    )
    return day


def test_hanging_at_an_instant(source, cfg):
    day = second_line(source)
    with source.engine.connect() as conn:
        def count(t):
            return hanging_at(conn, source.src, cfg, t).by_pipeline["Second line"]
        assert count(at(day, 9)) == 2             # users 1 and 4 (4's end is still to come)
        assert count(at(day, 10)) == 2            # 4's end at exactly T = 10:00 is not before T: open
        assert count(at(day, 10, 0, 1)) == 1      # a second later it is closed
        assert count(at(day, 11, 59, 59)) == 1    # user 2 is 23:59:59 old
        assert count(at(day, 12)) == 2            # ... and exactly 24 h at 12:00: hanging
        now = hanging_at(conn, source.src, cfg, at(day, 12))
        assert now.total == 2 and set(now.by_pipeline) == {p.name for p in cfg.hanging.pipelines}
        # at the end of a day it is the daily metric's number
        end = ReportDay(day).end
        daily = {p.name: p.hanging for p in hanging.compute(conn, source.src, cfg, ReportDay(day)).pipelines}
        assert hanging_at(conn, source.src, cfg, end).by_pipeline == daily


def test_state_readings_and_the_scope(source, cfg):
    day = second_line(source)
    source.tags((1, "team:north"), (2, "team:south"))
    total = parse_rule("hanging > 1", cfg)
    pipe = parse_rule("hanging.second_line >= 2", cfg)
    r = Reader(source.engine, source.schema, cfg).read(total, None, at=at(day, 12))
    assert (r.outcome, r.value, r.at) == (Outcome.HOLDS, 2.0, at(day, 12))
    assert Reader(source.engine, source.schema, cfg).read(pipe, None, at=at(day, 11)).outcome is Outcome.CLEAR
    # the scope counts only its users: team:north holds user 1 only
    north = Reader(source.engine, source.schema, cfg).read(total, "team:north", at=at(day, 12))
    assert (north.outcome, north.value) == (Outcome.CLEAR, 1.0)


def weekly_payers(source, today: int):
    uid = 0
    for k, n in enumerate(WEEKLY, start=1):
        for _ in range(n):
            uid += 1
            source.payments((uid, at(D - timedelta(days=7 * k), 12), 10))
    for i in range(today):
        source.payments((1000 + i, at(D, 9), 10))


def test_flow_readings_from_the_baselines(source, cfg):
    """The reading's plumbing, with section 8's detector (its bands are worked out by hand here;
    section 12's reading: test_flow_readings_from_the_detector)."""
    from reports.baselines import section8

    weekly_payers(source, today=3)
    day = ReportDay(D)

    def read(engine, schema, cfg_, spec, scope, **kw):
        return Reader(engine, schema, cfg_, baselines=section8).read(spec, scope, **kw)

    # median 20, half-width 3 sqrt(20) = 13.4164: usually 6.5836-33.4164, and 3 is low
    r = read(source.engine, source.schema, cfg, parse_rule("payers unusual", cfg), None, day=day)
    assert (r.outcome, r.value, r.expected, r.low, r.high, r.direction, r.day) == (
        Outcome.HOLDS, 3.0, 20.0, 6.5836, 33.4164, "low", D)
    assert read(source.engine, source.schema, cfg, parse_rule("new_payers < 3", cfg), None, day=day).outcome is Outcome.CLEAR
    assert read(source.engine, source.schema, cfg, parse_rule("new_payers <= 3", cfg), None, day=day).outcome is Outcome.HOLDS
    rev = read(source.engine, source.schema, cfg, parse_rule("revenue < 31", cfg), None, day=day)
    assert (rev.outcome, rev.value) == (Outcome.HOLDS, 30.0)
    # no web tracking at all: a session rule has nothing to read
    s = read(source.engine, source.schema, cfg, parse_rule("sessions.direct > 1", cfg), None, day=day)
    assert s.outcome is Outcome.NODATA and "not computed" in s.detail
    # three weeks of history only: no verdict, so `unusual` has no data; a threshold still works
    early = ReportDay(D - timedelta(days=7 * 5))
    assert read(source.engine, source.schema, cfg, parse_rule("payers unusual", cfg), None, day=early).outcome is Outcome.NODATA
    # (D-35 is the 5th Thursday back: 19 payers)
    assert read(source.engine, source.schema, cfg, parse_rule("payers >= 19", cfg), None, day=early).outcome is Outcome.HOLDS


def test_a_failing_evaluation_is_an_error_reading_not_a_crash(source, cfg):
    def broken(*a, **kw):
        raise ValueError("no such column: total")

    r = Reader(source.engine, source.schema, cfg, baselines=broken).read(parse_rule("revenue > 1", cfg), None,
                                                                         day=ReportDay(D))
    assert r.outcome is Outcome.FAILED and r.detail == "ValueError: no such column: total"


def test_rules_reading_the_same_numbers_share_one_query_and_a_failure_stays_with_its_metric(source, cfg):
    from reports.baselines import section8 as section8_baselines

    weekly_payers(source, today=3)
    second_line(source)
    asked = []

    def spy(conn, src, cfg_, day, scope=None, metrics=None):
        asked.append(metrics)
        if metrics == ("campaigns",):
            raise RuntimeError("campaigns are broken today")
        return section8_baselines(conn, src, cfg_, day, scope, metrics)  # its band, worked out above

    specs = [parse_rule(t, cfg) for t in ("new_payers < 5", "revenue unusual", "sends.email > 1", "payments > 2")]
    got = Reader(source.engine, source.schema, cfg, baselines=spy).read_all(specs, None, day=ReportDay(D))
    assert asked == [("new_payers",), ("campaigns",)]  # once per metric, not once per rule
    assert [(r.outcome, r.value) for r in got] == [(Outcome.HOLDS, 3.0), (Outcome.HOLDS, 30.0),
                                                   (Outcome.FAILED, None), (Outcome.HOLDS, 3.0)]
    assert got[2].detail == "RuntimeError: campaigns are broken today"
    # state targets of one scope: one hanging query answers them all, at one instant
    states = [parse_rule(t, cfg) for t in ("hanging > 1", "hanging.second_line >= 2", "hanging.first_line > 0")]
    got = Reader(source.engine, source.schema, cfg).read_all(states, None, at=at(date(2024, 3, 12), 12))
    assert [(r.outcome, r.value) for r in got] == [(Outcome.HOLDS, 2.0), (Outcome.HOLDS, 2.0), (Outcome.CLEAR, 0.0)]
    # a scope the source cannot take fails every rule of the group, politely
    bad = Reader(source.engine, source.schema, cfg).read_all(states[:2], "bad tag!", at=at(date(2024, 3, 12), 12))
    assert [r.outcome for r in bad] == [Outcome.FAILED, Outcome.FAILED] and "ScopeError" in bad[0].detail
    # a company without the CJM events has nothing hanging to count: no data, not an error
    source.drop_tables("events")
    (r,) = Reader(source.engine, source.schema, cfg).read_all(states[:1], None, at=at(date(2024, 3, 12), 12))
    assert (r.outcome, r.detail) == (Outcome.NODATA, "the source has no events table")


def test_backtest_counts_entries_into_firing(source, cfg):
    weekly_payers(source, today=0)
    source.payments((2000, at(D - timedelta(days=3), 9), 5),   # D-3: one new payer
                    (2001, at(D - timedelta(days=1), 9), 5),   # D-1: one
                    (2002, at(D - timedelta(days=1), 9), 5))   # ... and another: two
    out = backtest(Reader(source.engine, source.schema, cfg), parse_rule("new_payers < 1", cfg), Days(D, 5, "UTC"))
    # D-4 0 (fires), D-3 1, D-2 0 (fires again), D-1 2, D 0 (fires)
    assert [(b.day, b.reading.value, b.fired) for b in out] == [
        (D - timedelta(days=4), 0.0, True), (D - timedelta(days=3), 1.0, False),
        (D - timedelta(days=2), 0.0, True), (D - timedelta(days=1), 2.0, False), (D, 0.0, True)]
    # a state target is read at each day's end; it fires once while it holds
    second_line(source)
    out = backtest(Reader(source.engine, source.schema, cfg), parse_rule("hanging.second_line >= 1", cfg), Days(date(2024, 3, 12), 3, "UTC"))
    # end of 03-10: users 1, 3, 4 opened at 10:00 that day, 14 h old: none hangs; end of 03-11:
    # 1 and 4 (38 h), 2 is 12 h old; end of 03-12: 1 and 2 (4 closed that morning)
    assert [(b.reading.value, b.fired) for b in out] == [(0.0, False), (2.0, True), (2.0, False)]
    assert [b.firing for b in out] == [False, True, True]  # every day it holds, not only the first


def test_due_day_waits_for_late_data():
    late = timedelta(hours=2)
    assert due_day(at(D, 1, 59), "UTC", late) == D - timedelta(days=2)
    assert due_day(at(D, 2), "UTC", late) == D - timedelta(days=1)
    # 02:00 in Moscow is 23:00 UTC the day before
    assert due_day(at(D, 23), "Europe/Moscow", late) == D


# -- the store ------------------------------------------------------------------------------------
@pytest.fixture
def store(engine):
    schema = f"alerts_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    return AlertStore(engine, schema)


def notices(store) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f"select seq, kind, state from {store.s}.alert_notices order by id"))]


def log_rows(store, kind: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f"select from_state, to_state, value from {store.s}.alert_log where kind = :k order by id"), {"k": kind})]


NOW = at(D, 12)


def test_record_applies_the_machine_and_writes_log_and_ledger(store, cfg):
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    seq = [Reading(Outcome.CLEAR, 1.0), Reading(Outcome.HOLDS, 2.0), Reading(Outcome.HOLDS, 3.0),
           Reading(Outcome.FAILED, detail="boom"), Reading(Outcome.HOLDS, 2.0), Reading(Outcome.CLEAR, 0.0)]
    for i, r in enumerate(seq):
        store.record(rule.id, r, NOW + timedelta(minutes=i), None)
        for n in store.pending_notices():  # sent at once, as the runner does
            assert store.attempt(n.id)
            store.finish(n.id, NoticeEvent.SENT, 77)
    assert len(log_rows(store, "evaluation")) == 6
    assert log_rows(store, "transition") == [(None, "ok", 1.0), ("ok", "firing", 2.0), ("firing", "error", None),
                                             ("error", "firing", 2.0), ("firing", "ok", 0.0)]
    assert notices(store) == [(1, "firing", "sent"), (2, "error", "sent"), (3, "resolved", "sent")]
    got = store.get(rule.id)
    assert (got.state, got.told_firing, got.last_value, got.seq, got.last_error) == (State.OK, False, 0.0, 3, None)


def notice_log(store) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f"select notice_id, event, from_state, to_state, reason from {store.s}.alert_notice_log order by id"))]


def test_every_notice_transition_is_logged_with_its_event(store, cfg):
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW, None)
    (n,) = store.pending_notices()
    store.note_error(n.id, "telegram: Timed out")  # a passing fault: still pending
    store.finish(n.id, NoticeEvent.SENT, 77)
    store.finish(n.id, NoticeEvent.FAIL, None, "late")  # no longer pending: nothing moves
    store.record(rule.id, Reading(Outcome.CLEAR, 0.0), NOW, None)
    (r,) = store.pending_notices()
    store.delete(-42, rule.id)
    assert notice_log(store) == [
        (n.id, "queue", None, "pending", None),
        (n.id, "retry", "pending", "pending", "telegram: Timed out"),
        (n.id, "sent", "pending", "sent", None),
        (r.id, "queue", None, "pending", None),
        (r.id, "cancel", "pending", "cancelled", "rule removed"),
    ]
    assert notices(store) == [(1, "firing", "sent"), (2, "resolved", "cancelled")]


def test_the_notice_machine_refuses_what_it_does_not_know():
    from bot.alerts.notices import IllegalNoticeTransition, NoticeState, next_notice_state

    assert next_notice_state(NoticeState.PENDING, NoticeEvent.SENT) is NoticeState.SENT
    for state, event in ((NoticeState.SENT, NoticeEvent.FAIL), (NoticeState.CANCELLED, NoticeEvent.SENT),
                         (NoticeState.SUPPRESSED, NoticeEvent.QUEUE), (None, NoticeEvent.SENT)):
        with pytest.raises(IllegalNoticeTransition):
            next_notice_state(state, event)


def test_a_firing_notice_never_sent_is_cancelled_by_its_resolution(store, cfg):
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW, None)
    (pending,) = store.pending_notices()
    store.record(rule.id, Reading(Outcome.CLEAR, 0.0), NOW, None)
    assert notices(store) == [(1, "firing", "cancelled"), (2, "resolved", "cancelled")]
    assert store.pending_notices() == [] and not store.attempt(pending.id)
    assert [row[1:] for row in notice_log(store)] == [
        ("queue", None, "pending", None),
        ("cancel", "pending", "cancelled", "resolved before it was sent"),
        ("cancel", None, "cancelled", "resolved before it was sent")]


def test_snoozed_and_muted_rules_record_suppressed_notices(store, cfg):
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    store.quieten(-42, rule.id, until=NOW + timedelta(hours=1))
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW, None)
    assert notices(store) == [(1, "firing", "suppressed")] and store.get(rule.id).told_firing is False
    # the snooze is over and it still holds: the chat hears it now
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW + timedelta(hours=1), None)
    assert notices(store)[-1] == (2, "firing", "pending")
    assert store.quieten(-42, rule.id, muted=True).snoozed_until == NOW + timedelta(hours=1)  # kept
    store.record(rule.id, Reading(Outcome.CLEAR, 0.0), NOW + timedelta(hours=2), None)
    assert notices(store)[-1] == (3, "resolved", "suppressed")
    assert store.quieten(-43, rule.id, muted=False) is None  # another chat's rule: untouched


def test_removing_a_rule_cancels_what_it_had_to_say(store, cfg):
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW, None)
    assert not store.delete(-43, rule.id)  # not that chat's
    assert store.delete(-42, rule.id) and not store.delete(-42, rule.id)
    assert notices(store) == [(1, "firing", "cancelled")] and store.rules() == []
    assert store.record(rule.id, Reading(Outcome.CLEAR, 0.0), NOW, None) is None


def test_one_notice_per_transition_even_if_recorded_twice(store, cfg):
    """The unique (rule_id, seq): a second writer of the same transition cannot add a notice."""
    rule = store.create(-42, parse_rule("hanging > 1", cfg), None, 1001)
    store.record(rule.id, Reading(Outcome.HOLDS, 2.0), NOW, None)
    with store.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text(f"""insert into {store.s}.alert_notices (rule_id, seq, chat_id, kind, state)
            values (:r, 1, -42, 'firing', 'pending')"""), {"r": rule.id})


def test_flow_readings_from_the_detector(source, cfg):
    """`unusual` and the backtest with section 12's detector: 10 new payers a day for 8 weeks, then
    none on D-1 and D (a zero where 10 are expected is low), and a backtest that reads the
    series once and lists both days as firing."""
    rows, uid = [], 0
    for k in range(2, 60):
        for _ in range(10):
            uid += 1
            rows.append((uid, at(D - timedelta(days=k), 12), 10))
    source.payments(*rows)
    r = Reader(source.engine, source.schema, cfg).read(parse_rule("payers unusual", cfg), None, day=ReportDay(D))
    assert (r.outcome, r.value, r.direction) == (Outcome.HOLDS, 0.0, "low")
    # D-1's zero, 3.2 Poisson standard deviations out, keeps 30% of its weight: 9.7, not 10
    assert r.expected == pytest.approx(9.7, abs=0.05) and r.low >= 1
    out = backtest(Reader(source.engine, source.schema, cfg), parse_rule("payers unusual", cfg), Days(D, 4, "UTC"))
    assert [(b.day, b.reading.value, b.reading.outcome, b.fired, b.firing) for b in out] == [
        (D - timedelta(days=3), 10.0, Outcome.CLEAR, False, False),
        (D - timedelta(days=2), 10.0, Outcome.CLEAR, False, False),
        (D - timedelta(days=1), 0.0, Outcome.HOLDS, True, True),
        (D, 0.0, Outcome.HOLDS, False, True)]
