"""The delivery ledger's pure state machine: every transition, the retry waits, and what the
sweep finds due, worked out by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.delivery.ledger import (
    Action,
    Event,
    IllegalTransition,
    Row,
    State,
    Sub,
    after_failure,
    last_occurrence,
    next_state,
    plan,
    report_day,
    retry_wait,
)

W, S, F, K, X = State.WORKING, State.WAITING, State.SENT, State.FAILED, State.SKIPPED
NOW = datetime(2024, 3, 15, 8, 55, tzinfo=UTC)
DUE = datetime(2024, 3, 15, 8, 45, tzinfo=UTC)
DAY = date(2024, 3, 14)
GRACE = timedelta(hours=4)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("frm", "event", "to"), [
    (None, Event.CLAIM, W), (None, Event.MISS, X),
    (W, Event.SENT, F), (W, Event.RETRYABLE, S), (W, Event.FINAL, K), (W, Event.BLOCKED, K),
    (W, Event.EXPIRE, K), (W, Event.CANCEL, K), (W, Event.RESUME, W),
    (S, Event.RETRY, W), (S, Event.EXPIRE, K), (S, Event.CANCEL, K),
])
def test_every_legal_transition(frm, event, to):
    assert next_state(frm, event) is to


def test_every_other_transition_is_illegal():
    legal = {(None, Event.CLAIM), (None, Event.MISS), (S, Event.RETRY), (S, Event.EXPIRE),
             (S, Event.CANCEL)} | {(W, e) for e in (Event.SENT, Event.RETRYABLE, Event.FINAL,
                                                    Event.BLOCKED, Event.EXPIRE, Event.CANCEL, Event.RESUME)}
    for frm in (None, *State):
        for event in Event:
            if (frm, event) in legal:
                continue
            with pytest.raises(IllegalTransition):
                next_state(frm, event)
    # The final states accept nothing: a sent digest can never be sent again.
    assert all(s.final for s in (F, K, X)) and not W.final and not S.final
    assert {s for s in State if s.holds_slot} == {W, S, F}


def test_retry_waits_grow_then_repeat_the_last():
    minutes = [retry_wait(n).total_seconds() / 60 for n in range(1, 9)]
    assert minutes == [1, 2, 5, 10, 15, 15, 15, 15]
    assert retry_wait(2, (0.5, 3)) == timedelta(seconds=3)
    assert retry_wait(0) == timedelta(minutes=1)


def test_a_passing_failure_waits_inside_the_grace_period():
    d = after_failure(Event.RETRYABLE, attempts=3, scheduled_for=DUE, now=NOW, grace=GRACE, error="telegram: 500")
    assert d.state is S and d.next_attempt_at == NOW + timedelta(minutes=5) and d.reason == "telegram: 500"


def test_a_passing_failure_whose_next_attempt_falls_after_grace_is_final():
    # 12:40 + 15 min = 12:55 > 08:45 + 4 h = 12:45.
    now = datetime(2024, 3, 15, 12, 40, tzinfo=UTC)
    d = after_failure(Event.RETRYABLE, attempts=6, scheduled_for=DUE, now=now, grace=GRACE, error="database: down")
    assert d.state is K and d.next_attempt_at is None
    assert d.reason.startswith("database: down") and "not retried" in d.reason
    # Exactly at the deadline still counts as inside.
    edge = after_failure(Event.RETRYABLE, attempts=5, scheduled_for=DUE, now=now - timedelta(minutes=10),
                         grace=GRACE, error="e")
    assert edge.state is S and edge.next_attempt_at == DUE + GRACE


@pytest.mark.parametrize("event", [Event.FINAL, Event.BLOCKED])
def test_final_failures_do_not_wait(event):
    d = after_failure(event, attempts=1, scheduled_for=DUE, now=NOW, grace=GRACE, error="403")
    assert (d.state, d.next_attempt_at) == (K, None)


def test_occurrence_and_report_day_across_midnight_and_zones():
    assert last_occurrence(time(8, 45), "UTC", NOW) == DUE
    assert last_occurrence(time(9, 0), "UTC", NOW) == datetime(2024, 3, 14, 9, 0, tzinfo=UTC)
    # 08:55 UTC is 11:55 in Moscow: today's 11:50 run there reports the 14th.
    msk = last_occurrence(time(11, 50), "Europe/Moscow", NOW)
    assert msk == datetime(2024, 3, 15, 8, 50, tzinfo=UTC) and report_day(msk, "Europe/Moscow") == DAY
    # 23:30 in Los Angeles on the 14th is 06:30 UTC on the 15th: it reports the 13th.
    la = last_occurrence(time(23, 30), "America/Los_Angeles", NOW)
    assert la == datetime(2024, 3, 15, 6, 30, tzinfo=UTC) and report_day(la, "America/Los_Angeles") == date(2024, 3, 13)


def sub(chat=1, at=time(8, 45), created=LONG_AGO):
    return Sub(chat, at, "UTC", None, created)


def row(state, chat=1, day=DAY, next_at=None, rid=10, due=DUE):
    return Row(rid, chat, day, state, due, next_at, "telegram: 500")


def test_plan_new_slot_due_within_grace_is_delivered():
    (d,) = plan([sub()], [], NOW, GRACE)
    assert (d.action, d.chat_id, d.day, d.scheduled_for, d.delivery_id) == (Action.DELIVER, 1, DAY, DUE, None)


def test_plan_missed_beyond_grace_is_skipped_with_the_cause():
    late = NOW + timedelta(hours=5)
    (d,) = plan([sub()], [], late, GRACE, missed_because="database unreachable since 08:40")
    assert d.action is Action.SKIP and d.reason.startswith("database unreachable since 08:40 at 2024-03-15T08:45")


def test_plan_subscribed_after_the_run_is_not_due_unless_its_job_fired():
    fresh = sub(created=NOW - timedelta(minutes=1))
    assert plan([fresh], [], NOW, GRACE) == []
    (d,) = plan([fresh], [], NOW, GRACE, fired=frozenset({1}))
    assert d.action is Action.DELIVER


@pytest.mark.parametrize("state", [F, K, X])
def test_plan_final_rows_are_left_alone(state):
    assert plan([sub()], [row(state)], NOW, GRACE) == []


def test_plan_waiting_row_is_retried_only_when_its_time_comes():
    assert plan([sub()], [row(S, next_at=NOW + timedelta(seconds=1))], NOW, GRACE) == []
    (d,) = plan([sub()], [row(S, next_at=NOW)], NOW, GRACE)
    assert (d.action, d.delivery_id) == (Action.DELIVER, 10)


def test_plan_working_row_not_in_flight_is_resumed_and_in_flight_is_not():
    (d,) = plan([sub()], [row(W)], NOW, GRACE)
    assert (d.action, d.delivery_id) == (Action.DELIVER, 10)
    assert plan([sub()], [row(W)], NOW, GRACE, busy=frozenset({10})) == []


@pytest.mark.parametrize("state", [W, S])
def test_plan_open_row_past_grace_expires_with_its_last_error(state):
    late = DUE + GRACE + timedelta(seconds=1)
    (d,) = plan([sub()], [row(state, next_at=late)], late, GRACE)
    assert d.action is Action.EXPIRE and d.reason.startswith("telegram: 500;") and "not retried" in d.reason


def test_plan_open_row_of_an_old_day_still_expires_and_without_subscription_is_cancelled():
    old = row(S, day=date(2024, 3, 1), due=datetime(2024, 3, 2, 8, 45, tzinfo=UTC), rid=3)
    todo = plan([sub()], [old, row(F)], NOW, GRACE)
    assert [(d.action, d.delivery_id) for d in todo] == [(Action.EXPIRE, 3)]
    (d,) = plan([], [row(S, next_at=NOW)], NOW, GRACE)
    assert d.action is Action.CANCEL


def test_plan_is_in_due_time_order():
    subs = [sub(1, time(8, 30)), sub(2, time(7, 0)), sub(3, time(8, 0)), sub(4, time(8, 0))]
    assert [d.chat_id for d in plan(subs, [], NOW, GRACE)] == [2, 3, 4, 1]


def test_the_slot_states_in_sql_are_the_enums():
    # The partial unique index that holds a (chat, day) slot and the open-rows index were written
    # by migration 0004 as literals; the store's SQL is rendered from the enum and must match them.
    from bot.delivery.ledger_store import HOLDING, OPEN

    assert HOLDING == "('working', 'waiting', 'sent')"
    assert OPEN == "('working', 'waiting')"
