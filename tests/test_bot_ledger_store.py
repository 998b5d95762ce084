"""The ledger in Postgres: each state change checked against bot.delivery.ledger and logged in the same
transaction; the slot held while working, waiting or sent."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.delivery.ledger import Event, IllegalTransition, State
from bot.subscriptions import Store
from db.state import migrate

DAY = date(2024, 3, 14)
DUE = datetime(2024, 3, 15, 8, 45, tzinfo=UTC)


@pytest.fixture
def store(engine):
    schema = f"bot_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    return Store(engine, schema)


def log(store: Store) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f"select from_state, to_state, by_owner, part, reason from {store.s}.delivery_log order by id"))]


def test_a_retried_delivery_walks_the_machine_and_logs_every_step(store):
    first = store.claim(-1, DAY, DUE, "p1")
    assert (first.parts_sent, first.resumed, first.attempts) == (0, False, 1)
    store.progress(first.delivery_id, 1)
    later = DUE + timedelta(minutes=1)
    assert store.transition(first.delivery_id, Event.RETRYABLE, "p1", "telegram: 500", later) is State.WAITING
    assert store.claim(-1, DAY, DUE, "p2") is not None  # the retry (the sweep decides when)
    # While one run holds the slot no second row can be made, whatever its state.
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(f"select count(*) from {store.s}.deliveries")).scalar() == 1
    assert store.transition(first.delivery_id, Event.SENT, "p2") is State.SENT
    assert store.claim(-1, DAY, DUE, "p3") is None  # sent: never again
    assert log(store) == [
        (None, "working", "p1", 0, None),
        ("working", "waiting", "p1", 1, "telegram: 500"),
        ("waiting", "working", "p2", 1, None),
        ("working", "sent", "p2", 1, None),
    ]
    (last,) = store.last_deliveries()[-1]
    assert (last.state, last.attempts, last.next_attempt_at, last.error) == (State.SENT, 2, None, None)


def test_the_second_claim_of_a_waiting_row_resumes_after_the_accepted_parts(store):
    c = store.claim(-1, DAY, DUE, "p1")
    store.progress(c.delivery_id, 2)
    store.transition(c.delivery_id, Event.RETRYABLE, "p1", "database: down", DUE)
    again = store.claim(-1, DAY, DUE, "p1")
    assert (again.delivery_id, again.parts_sent, again.resumed, again.attempts) == (c.delivery_id, 2, True, 2)
    assert again.failing_since is not None


def test_an_illegal_transition_changes_nothing(store):
    c = store.claim(-1, DAY, DUE, "p1")
    store.transition(c.delivery_id, Event.SENT, "p1")
    with pytest.raises(IllegalTransition):
        store.transition(c.delivery_id, Event.RETRYABLE, "p1", "late failure", DUE)
    (last,) = store.last_deliveries()[-1]
    assert last.state is State.SENT and len(log(store)) == 2


def test_expected_state_guards_a_race(store):
    c = store.claim(-1, DAY, DUE, "p1")
    assert store.transition(c.delivery_id, Event.EXPIRE, "p1", "x", expect=State.WAITING) is None
    assert store.transition(c.delivery_id, Event.EXPIRE, "p1", "grace over", expect=State.WORKING) is State.FAILED
    # A failed slot is free: a skipped row is not added on top, a new claim could be.
    assert store.record_skipped(-1, DAY, DUE, "late") is False


def test_outage_notices_are_told_once_each(store):
    o = store.open_outage(DUE, "database: down")
    assert store.open_outage(DUE + timedelta(hours=1), "other").id == o.id  # one open outage
    assert store.mark_told(o.id, "delayed") and not store.mark_told(o.id, "delayed")
    assert store.mark_told(o.id, "failed") and not store.mark_told(o.id, "failed")
    # An unexpected error: once per kind, whatever the other kinds and messages did.
    assert store.mark_told(o.id, "error:AttributeError")
    assert store.mark_told(o.id, "error:KeyError")
    assert not store.mark_told(o.id, "error:AttributeError") and not store.mark_told(o.id, "error:KeyError")
    c = store.claim(-1, DAY, DUE, "p1")
    assert store.end_outage() is False  # a delivery is still open
    store.transition(c.delivery_id, Event.SENT, "p1")
    assert store.end_outage() is True
    nxt = store.open_outage(DUE, "next")
    assert nxt.id != o.id and store.mark_told(nxt.id, "error:AttributeError")  # a new outage: news again
