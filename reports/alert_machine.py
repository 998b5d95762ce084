"""The alert rule as a state machine: states, outcomes of an evaluation, and the pure step.

Modelled like the digest's ledger (bot.delivery.ledger): an enum of states, one transition table, and a
pure function the store applies inside the transaction that records it; unit-tested transition
by transition (tests/test_alert_machine.py).

    outcome of an evaluation ->  state
    condition holds             firing
    condition does not hold     ok
    no value (no data, no verdict)  nodata
    the evaluation failed       error

Every (state, outcome) pair is a legal move (a rule goes wherever its latest evaluation says).
What the chat hears is decided apart from the state, by `told_firing`: what the chat was last
told. A `firing` message goes out when the condition holds and the chat was not told it fires;
a `resolved` one when the rule is back to ok and the chat was told it fires. `nodata` and
`error` change nothing the chat was told, so firing -> error -> firing sends nothing, and
firing -> nodata -> ok sends the resolved message. An error (entering `error`) goes to the
admins, never to the chat. A snoozed or muted rule still moves, and its notice is recorded as
suppressed; the chat's `told_firing` does not change, so when the snooze ends the chat hears the
difference between what it was told and what is true (one message, not the missed history).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    OK = "ok"
    FIRING = "firing"
    NODATA = "nodata"
    ERROR = "error"


class Outcome(enum.Enum):
    HOLDS = "holds"
    CLEAR = "clear"
    NODATA = "nodata"
    FAILED = "failed"


class Notice(enum.Enum):
    FIRING = "firing"      # to the chat
    RESOLVED = "resolved"  # to the chat
    ERROR = "error"        # to the admins


_TO: dict[Outcome, State] = {
    Outcome.HOLDS: State.FIRING,
    Outcome.CLEAR: State.OK,
    Outcome.NODATA: State.NODATA,
    Outcome.FAILED: State.ERROR,
}

# Every pair, written out so a test can walk the table and a reader sees every case.
TRANSITIONS: dict[tuple[State | None, Outcome], State] = {
    (frm, outcome): _TO[outcome] for frm in (None, *State) for outcome in Outcome
}


@dataclass(frozen=True)
class Step:
    to: State
    changed: bool               # a transition (logged as such); False: the rule stays where it was
    notice: Notice | None       # what to send (None: nothing)
    suppressed: bool            # the notice is due but the rule is snoozed or muted
    told_firing: bool           # what the chat has been told after this step


def step(state: State | None, told_firing: bool, outcome: Outcome, *, quiet: bool = False) -> Step:
    """One evaluation's consequences. `state` None: the rule was never evaluated. `quiet`: the
    rule is snoozed or muted now."""
    to = TRANSITIONS[(state, outcome)]
    changed = to is not state
    notice: Notice | None = None
    if to is State.FIRING and not told_firing:
        notice = Notice.FIRING
    elif to is State.OK and told_firing:
        notice = Notice.RESOLVED
    elif to is State.ERROR and changed:
        notice = Notice.ERROR
    chat_notice = notice in (Notice.FIRING, Notice.RESOLVED)
    suppressed = quiet and chat_notice
    told = told_firing
    if chat_notice and not suppressed:
        told = notice is Notice.FIRING
    return Step(to, changed, notice, suppressed, told)


def fired_days(outcomes: list[Outcome]) -> list[int]:
    """Backtest: the indexes of the evaluations at which the rule would have sent `firing`."""
    state, told, out = None, False, []
    for i, outcome in enumerate(outcomes):
        s = step(state, told, outcome)
        if s.notice is Notice.FIRING:
            out.append(i)
        state, told = s.to, s.told_firing
    return out
