"""Late rows and the baselines' store of finished days (metrics.baselines.marks) on hand-built
Postgres data: a row that arrives after its day was kept sends that day, the one before it and
every later one back to be computed, and nothing else; a late experiment event, every day."""

import sqlalchemy as sa

from metrics.baselines.store import stored_series
from metrics.day import ReportDay
from tests.conftest import checked_series

# the hand-built days of the detector's tests (and its state fixture, in conftest)
from tests.test_detector_db import WA, D, at, days


def digest(source, cfg):
    """One digest's new payers series through the store, and the `back` it computed."""
    asked: list[int] = []

    def compute(back: int):
        asked.append(back)
        return checked_series(conn, source.src, cfg, ReportDay(D), None, ("new_payers",), back)

    with source.engine.begin() as conn:
        got = {s.field: s for s in stored_series(conn, source.src, cfg, ReportDay(D), None, {"new_payers": compute})}
    return got["new_payers"], asked[0]


def fresh(source, cfg):
    with source.engine.connect() as conn:
        return {s.field: s for s in checked_series(conn, source.src, cfg, ReportDay(D), None, ("new_payers",))}[
            "new_payers"]


def test_a_late_payment_sends_its_day_and_the_later_ones_back(source, cfg, state):
    source.events((99, "Создание заявки", at(D - days(100), 9)))  # the events table has rows (and ids)
    # one new payer a day from D-90; user 500 first pays on D-10
    source.payments(*[(u, at(D - days(u), 12), 10) for u in range(1, 91)], (500, at(D - days(10), 15), 10))
    first, back = digest(source, cfg)
    assert back == 84  # an empty store: every day of the window
    assert first.value(D - days(10)) == 2 and first.value(D - days(30)) == 1
    _, back = digest(source, cfg)
    assert back == 2  # nothing arrived: only the recent days (D-2 ... D)
    # user 500's older payment arrives late (a higher id) with a time on D-30: D-30 gains a new
    # payer, and D-10 loses one, since 500 is no longer new there
    source.payments((500, at(D - days(30), 8), 10))
    late, back = digest(source, cfg)
    assert back == 31  # D-30, the day before it, and every day after
    assert (late.value(D - days(30)), late.value(D - days(10))) == (2, 1)
    expected = fresh(source, cfg)
    assert {d: late.value(d) for d in late.values} == {d: expected.value(d) for d in expected.values}
    # kept as corrected: the next digest reads the store again
    after, back = digest(source, cfg)
    assert back == 2 and (after.value(D - days(30)), after.value(D - days(10))) == (2, 1)


def test_a_late_experiment_event_recomputes_every_day(source, cfg, state):
    source.events((99, "Создание заявки", at(D - days(100), 9)))
    source.payments(*[(u, at(D - days(u), 12), 10) for u in range(1, 91)])
    digest(source, cfg)
    # user 40 (a payer on D-40) turns out to be in an experiment flow: an event of today's
    # arrivals, but it takes the user out of every day
    source.events((40, WA, at(D, 9)))
    got, back = digest(source, cfg)
    assert back == 84
    assert got.value(D - days(40)) == 0 and got.value(D - days(41)) == 1


def test_a_store_without_marks_trusts_none_of_its_kept_days(source, cfg, state):
    source.events((99, "Создание заявки", at(D - days(100), 9)))
    source.payments(*[(u, at(D - days(u), 12), 10) for u in range(1, 91)])
    digest(source, cfg)
    with source.engine.begin() as conn:  # as after the upgrade that added the marks
        conn.execute(sa.text(f'delete from "{state}".baseline_marks'))
    _, back = digest(source, cfg)
    assert back == 84
    _, back = digest(source, cfg)
    assert back == 2


def sessions_digest(source, cfg):
    """One digest's sessions series (all channels) through the store, and the `back` it computed."""
    from metrics.attribution.series import series as sessions_series

    asked: list[int] = []

    def compute(back: int):
        asked.append(back)
        return sessions_series(conn, source.src, cfg, ReportDay(D), None, back)

    with source.engine.begin() as conn:
        got = stored_series(conn, source.src, cfg, ReportDay(D), None, {"attribution": compute})
    return next(s for s in got if s.key is None), asked[0]


def test_a_session_day_kept_unbuilt_is_computed_once_built(source, cfg, state):
    from metrics.sessions.store import ensure_days

    source.insert("web_events", [{"user_id": u, "anonymous_id": f"dev{u}", "happened_at": at(D - days(u % 30), 9),
                                  "utm_source": "google", "utm_medium": "cpc"} for u in range(1, 61)])
    with source.engine.begin() as conn:
        ensure_days(conn, source.src, cfg.attribution, "UTC", [D - days(7), D - days(1), D])
    first, back = sessions_digest(source, cfg)
    assert back == 84 and first.value(D - days(7)) == 2 and first.value(D - days(20)) is None  # not built
    # the unbuilt days are kept without numbers: the next digest computes only the recent days
    _, back = sessions_digest(source, cfg)
    assert back == 2
    # a backfill builds D-20: from that day on the store computes again, and D-20 has its sessions
    with source.engine.begin() as conn:
        ensure_days(conn, source.src, cfg.attribution, "UTC", [D - days(20)])
    built, back = sessions_digest(source, cfg)
    assert back == 20 and built.value(D - days(20)) == 2 and built.value(D - days(7)) == 2
    _, back = sessions_digest(source, cfg)
    assert back == 2


def test_a_day_only_some_series_know_is_not_kept_without_numbers():
    # money slices: owners are known every day, channels only on built session days; keeping
    # D-9 "without numbers" would lose its owners' values in every later digest
    from metrics.baselines import Series
    from metrics.baselines.store import _finished

    owners = Series("new_payers", "manager:x", "revenue", D - days(30), {D - days(9): 5.0, D - days(8): 7.0})
    channels = Series("new_payers", "Direct", "revenue", D - days(30), {D - days(8): 7.0}, known=frozenset({D - days(8)}))
    unknown = Series("attribution", None, "sessions", D - days(30), {}, known=frozenset())
    kept = _finished([owners, channels], D - days(9), D - days(7))
    assert D - days(9) not in kept and kept[D - days(8)]  # partly known: computed again next time
    assert _finished([unknown], D - days(9), D - days(7)) == {D - days(9): None, D - days(8): None}


def test_only_integer_ids_mark_arrivals(source, cfg, state, engine):
    from metrics.baselines.marks import _id_tables

    with engine.begin() as conn:
        assert _id_tables(conn, source.src) == ["events", "message_interactions", "message_sends", "payments",
                                                "web_events"]
        conn.exec_driver_sql(f'alter table "{source.schema}".message_interactions alter column id type text')
        assert "message_interactions" not in _id_tables(conn, source.src)


def test_each_metric_of_a_store_sees_the_late_rows_itself(source, cfg, state):
    # the money slices and the pace read the same store in calls of their own, later in the
    # digest (or not at all that day): the first call must not use up the late rows for them
    source.events((99, "Создание заявки", at(D - days(100), 9)))
    source.payments(*[(u, at(D - days(u), 12), 10) for u in range(1, 91)])

    def call(name: str) -> int:
        asked: list[int] = []

        def compute(back: int):
            asked.append(back)
            return checked_series(conn, source.src, cfg, ReportDay(D), None, ("new_payers",), back)

        with source.engine.begin() as conn:
            stored_series(conn, source.src, cfg, ReportDay(D), None, {name: compute})
        return asked[0]

    assert (call("new_payers"), call("new_payers:slices")) == (84, 84)
    assert (call("new_payers"), call("new_payers:slices")) == (2, 2)
    source.payments((500, at(D - days(30), 8), 10))
    assert (call("new_payers"), call("new_payers:slices")) == (31, 31)
