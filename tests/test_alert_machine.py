"""The alert state machine (reports.alert_machine), transition by transition, and rule parsing."""
from __future__ import annotations

import pytest

from reports.alert_machine import TRANSITIONS, Notice, Outcome, State, fired_days, step
from reports.alert_rules import FLOW, STATE, RuleSpec, holds, parse_rule
from reports.request import ReportInputError

H, C, N, F = Outcome.HOLDS, Outcome.CLEAR, Outcome.NODATA, Outcome.FAILED
OK, FIRING, NODATA, ERROR = State.OK, State.FIRING, State.NODATA, State.ERROR

# (state before, told_firing before, outcome) -> (state after, changed, notice, told_firing after)
# Every state (None: never evaluated) x both told flags x every outcome: 5 x 2 x 4 = 40 rows.
CASES = [
    # never evaluated (the chat was told nothing, so told_firing is False; True is impossible
    # but harmless and pinned anyway)
    (None, False, H, FIRING, True, Notice.FIRING, True),
    (None, False, C, OK, True, None, False),
    (None, False, N, NODATA, True, None, False),
    (None, False, F, ERROR, True, Notice.ERROR, False),
    (None, True, H, FIRING, True, None, True),
    (None, True, C, OK, True, Notice.RESOLVED, False),
    (None, True, N, NODATA, True, None, True),
    (None, True, F, ERROR, True, Notice.ERROR, True),
    # ok
    (OK, False, H, FIRING, True, Notice.FIRING, True),
    (OK, False, C, OK, False, None, False),
    (OK, False, N, NODATA, True, None, False),
    (OK, False, F, ERROR, True, Notice.ERROR, False),
    (OK, True, H, FIRING, True, None, True),          # told while snoozed: nothing new to say
    (OK, True, C, OK, False, Notice.RESOLVED, False),  # resolved during a snooze, told after it
    (OK, True, N, NODATA, True, None, True),
    (OK, True, F, ERROR, True, Notice.ERROR, True),
    # firing
    (FIRING, True, H, FIRING, False, None, True),      # stays firing: never again
    (FIRING, True, C, OK, True, Notice.RESOLVED, False),
    (FIRING, True, N, NODATA, True, None, True),
    (FIRING, True, F, ERROR, True, Notice.ERROR, True),
    (FIRING, False, H, FIRING, False, Notice.FIRING, True),  # fired during a snooze, told after it
    (FIRING, False, C, OK, True, None, False),
    (FIRING, False, N, NODATA, True, None, False),
    (FIRING, False, F, ERROR, True, Notice.ERROR, False),
    # nodata
    (NODATA, False, H, FIRING, True, Notice.FIRING, True),
    (NODATA, False, C, OK, True, None, False),
    (NODATA, False, N, NODATA, False, None, False),
    (NODATA, False, F, ERROR, True, Notice.ERROR, False),
    (NODATA, True, H, FIRING, True, None, True),       # firing -> nodata -> firing: one message
    (NODATA, True, C, OK, True, Notice.RESOLVED, False),  # firing -> nodata -> ok: resolved
    (NODATA, True, N, NODATA, False, None, True),
    (NODATA, True, F, ERROR, True, Notice.ERROR, True),
    # error
    (ERROR, False, H, FIRING, True, Notice.FIRING, True),
    (ERROR, False, C, OK, True, None, False),
    (ERROR, False, N, NODATA, True, None, False),
    (ERROR, False, F, ERROR, False, None, False),      # still failing: the admins were told
    (ERROR, True, H, FIRING, True, None, True),        # firing -> error -> firing: one message
    (ERROR, True, C, OK, True, Notice.RESOLVED, False),
    (ERROR, True, N, NODATA, True, None, True),
    (ERROR, True, F, ERROR, False, None, True),
]


def test_the_table_covers_every_state_and_outcome():
    assert len(TRANSITIONS) == 5 * 4
    assert {(s, told, o) for s, told, o, *_ in CASES} == {
        (s, told, o) for s in (None, *State) for told in (False, True) for o in Outcome}


@pytest.mark.parametrize(("frm", "told", "outcome", "to", "changed", "notice", "told_after"), CASES)
def test_step(frm, told, outcome, to, changed, notice, told_after):
    s = step(frm, told, outcome)
    assert (s.to, s.changed, s.notice, s.suppressed, s.told_firing) == (to, changed, notice, False, told_after)


@pytest.mark.parametrize(("frm", "told", "outcome", "to", "changed", "notice", "told_after"), CASES)
def test_step_while_snoozed_or_muted(frm, told, outcome, to, changed, notice, told_after):
    """Quiet: the same state, the chat's notices recorded as suppressed and the chat's view kept;
    errors still go to the admins."""
    s = step(frm, told, outcome, quiet=True)
    chat_notice = notice in (Notice.FIRING, Notice.RESOLVED)
    assert (s.to, s.changed, s.notice) == (to, changed, notice)
    assert s.suppressed is chat_notice
    assert s.told_firing is (told if chat_notice else told_after)


def test_a_flapping_rule_sends_one_message_per_change_of_what_the_chat_knows():
    state, told, sent = None, False, []
    for o in (C, H, H, N, H, F, H, C, C, H):
        s = step(state, told, o)
        sent.append(s.notice.value if s.notice else "-")
        state, told = s.to, s.told_firing
    assert sent == ["-", "firing", "-", "-", "-", "error", "-", "resolved", "-", "firing"]


def test_snooze_then_the_chat_hears_only_the_difference():
    s1 = step(State.FIRING, True, C, quiet=True)       # resolved while snoozed: suppressed
    s2 = step(s1.to, s1.told_firing, H, quiet=True)    # fires again while snoozed: nothing to say
    s3 = step(s2.to, s2.told_firing, C)                # snooze over, ok: the chat was told firing
    assert (s1.notice, s1.suppressed, s2.notice, s3.notice) == (Notice.RESOLVED, True, None, Notice.RESOLVED)


def test_fired_days_counts_each_entry_into_firing_once():
    assert fired_days([C, H, H, C, H, N, H, C]) == [1, 4]
    assert fired_days([N, N, F, H]) == [3]
    assert fired_days([]) == []


@pytest.mark.parametrize(("op", "threshold", "value", "expected"), [
    ("<", 3, 2, True), ("<", 3, 3, False), ("<=", 3, 3, True), ("<=", 3, 4, False),
    (">", 1, 1, False), (">", 1, 2, True), (">=", 1, 1, True), (">=", 1, 0, False),
])
def test_holds_at_the_edges(op, threshold, value, expected):
    assert holds(op, threshold, value) is expected


@pytest.mark.parametrize(("text", "spec"), [
    ("hanging > 1", RuleSpec("hanging", ">", 1.0, STATE)),
    ("hanging>1", RuleSpec("hanging", ">", 1.0, STATE)),
    ("HANGING.open_requests >= 5", RuleSpec("hanging.Open requests", ">=", 5.0, STATE)),
    ("hanging.First line <= 0", RuleSpec("hanging.First line", "<=", 0.0, STATE)),
    ("payers < 3", RuleSpec("new_payers", "<", 3.0, FLOW)),
    ("revenue unusual", RuleSpec("revenue", "unusual", None, FLOW)),
    ("sessions.paid_search < 20,5", RuleSpec("sessions.Paid Search", "<", 20.5, FLOW)),
    ("breached.second-line > 2", RuleSpec("breached.Second line", ">", 2.0, FLOW)),
    ("block_share.email > 0.2", RuleSpec("block_share.email", ">", 0.2, FLOW)),
    ("sessions Unusual", RuleSpec("sessions", "unusual", None, FLOW)),
    # section 12's conversions: a funnel step's daily conversion, a pipeline's close rate
    ("conversion.purchase unusual", RuleSpec("conversion.purchase", "unusual", None, FLOW)),
    ("conversion.успешный_ву < 0.5", RuleSpec("conversion.Успешный ВУ", "<", 0.5, FLOW)),
    ("close_rate.first_line < 0.7", RuleSpec("close_rate.First line", "<", 0.7, FLOW)),
])
def test_parse_rule(cfg, text, spec):
    assert parse_rule(text.split(), cfg) == spec


@pytest.mark.parametrize(("text", "says"), [
    ("", "No rule given"),
    ("hanging", "'hanging' is not a rule"),
    ("hanging = 1", "'hanging = 1' is not a rule"),
    ("hanging > many", "is not a rule"),
    ("hanging unusual", "has no usual band"),
    ("hanging.nowhere > 1", "names no pipeline; known: Open requests, First line"),
    ("sessions.tv > 1", "names no channel"),
    ("mood > 1", "'mood' is not a number I can watch"),
    ("block_share.email > 20", "block_share.email is a share between 0 and 1"),
    ("conversion.Создание заявки unusual", "names no funnel step after the first"),
    ("close_rate.first_line > 70", "close_rate.First line is a share between 0 and 1"),
])
def test_bad_rules_say_what_would_be_right(cfg, text, says):
    with pytest.raises(ReportInputError) as err:
        parse_rule(text.split(), cfg)
    assert says in str(err.value)
    assert "/alert TARGET OP NUMBER" in str(err.value)
    assert "/alert ЦЕЛЬ ОП ЧИСЛО" in err.value.text("ru")


def test_alert_settings_are_validated():
    from db.settings import SettingsError, load_settings

    s = load_settings({"ALERT_INTERVAL_MINUTES": "1", "ALERT_LATE_MINUTES": "0"}, dotenv=None)
    assert (s.alert_interval_minutes, s.alert_late_minutes) == (1.0, 0.0)
    assert load_settings({}, dotenv=None).alert_interval_minutes == 15.0
    for key, value in (("ALERT_INTERVAL_MINUTES", "0.5"), ("ALERT_INTERVAL_MINUTES", "often"),
                       ("ALERT_LATE_MINUTES", "-5")):
        with pytest.raises(SettingsError, match=f"{key}='{value}' must be a number of minutes from"):
            load_settings({key: value}, dotenv=None)
