"""The series that sort two per-user sets together (issue 23 item 1) at their ties: an end at the
very instant of a start closes the process, a next step at the very instant of the previous one
converts, as the joins they replaced counted them; with a scope, only its users."""
from metrics.day import ReportDay
from metrics.funnel import series as baseline_funnel
from metrics.hanging import series as hanging_series
from metrics.scope import Scope
from tests.test_detector_db import E2, S2, WA, D, at, days, two_steps

SV = "Успешный ВУ"  # "Intro-lesson payment": SV -> purchase or S2


def breaches(source, cfg, scope=None):
    with source.engine.connect() as conn:
        out = hanging_series.series(conn, source.src, cfg, ReportDay(D), scope, back=3)
    return {(s.key, s.field): s for s in out}


def test_an_end_at_the_start_instant_closes_the_process_in_the_series(source, cfg):
    source.events(
        (9, E2, at(D - days(30), 9)),  # the data begin on D-30
        (1, S2, at(D - days(1), 9)), (1, E2, at(D - days(1), 9)),  # closed at its start: not breached
        (2, S2, at(D - days(1), 10)),                               # open: breached on D
        (3, S2, at(D - days(1), 11)), (3, E2, at(D, 23, 59, 59)),   # closed before T_D: not breached
        (4, S2, at(D - days(1), 12)), (4, E2, at(D - days(1), 11, 59, 59)),  # end before start: breached
        (5, S2, at(D - days(1), 13)), (5, WA, at(D - days(20), 9)),  # an experiment user: left out
        (6, SV, at(D - days(1), 14)),  # intro lesson paid at its very instant: closed
        (7, SV, at(D - days(1), 15)),  # paid one second before: breached
    )
    source.payments((6, at(D - days(1), 14), 100), (7, at(D - days(1), 14, 59, 59), 100))
    s = breaches(source, cfg)
    second = s["Second line", "breached_today"], s["Second line", "close_rate"]
    assert (second[0].values[D], second[1].denominators[D], second[1].values[D]) == (2, 4, 0.5)
    intro = s["Intro-lesson payment", "breached_today"], s["Intro-lesson payment", "close_rate"]
    assert (intro[0].values[D], intro[1].denominators[D]) == (1, 2)
    source.tags((1, "team:x"), (2, "team:x"))
    s = breaches(source, cfg, Scope(("team:x",)))
    assert (s["Second line", "breached_today"].values[D], s["Second line", "close_rate"].denominators[D]) == (1, 2)


def test_a_next_step_at_the_same_instant_converts_in_the_series(source, cfg):
    source.events(
        # each A's 48-hour window closes on D
        (1, "A", at(D - days(2), 10)), (1, "B", at(D - days(2), 10)),            # same instant: converted
        (2, "A", at(D - days(2), 11)), (2, "B", at(D - days(2), 10, 59, 59)),    # a second before: not
        (3, "A", at(D - days(2), 12)), (3, "B", at(D - days(2), 12)), (3, "B", at(D - days(1), 1)),
    )
    with source.engine.connect() as conn:
        b = baseline_funnel.series(conn, source.src, two_steps(cfg), ReportDay(D), None, back=3)[0]
    assert b.key == "B" and (b.denominators[D], b.numerators[D]) == (3, 2)
    source.tags((2, "team:x"), (3, "team:x"))
    with source.engine.connect() as conn:
        b = baseline_funnel.series(conn, source.src, two_steps(cfg), ReportDay(D), Scope(("team:x",)), back=3)[0]
    assert (b.denominators[D], b.numerators[D]) == (2, 1)
