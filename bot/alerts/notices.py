"""An alert notice as a state machine, with the discipline of the digest's ledger (bot/delivery/ledger.py):
a state enum, one transition per event, and a log row per transition (alert_notice_log, written
by bot.alerts.store in the same transaction as the change).

    (none) --queue----> PENDING      the chat is to hear of a rule's transition
    (none) --suppress-> SUPPRESSED   the rule is snoozed or muted: recorded, never sent
    (none) --cancel---> CANCELLED    a resolution whose firing was never sent: neither is said
    PENDING --retry---> PENDING      a passing Telegram fault: counted, tried at the next check
    PENDING --sent----> SENT
    PENDING --fail----> FAILED       blocked, a request no retry fixes, a bug, or out of attempts
    PENDING --cancel--> CANCELLED    the rule was removed, or resolved before this was sent
"""
from __future__ import annotations

import enum


class NoticeState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"


class NoticeEvent(enum.Enum):
    QUEUE = "queue"
    SUPPRESS = "suppress"
    CANCEL = "cancel"
    RETRY = "retry"
    SENT = "sent"
    FAIL = "fail"


class IllegalNoticeTransition(ValueError):
    pass


_TRANSITIONS: dict[tuple[NoticeState | None, NoticeEvent], NoticeState] = {
    (None, NoticeEvent.QUEUE): NoticeState.PENDING,
    (None, NoticeEvent.SUPPRESS): NoticeState.SUPPRESSED,
    (None, NoticeEvent.CANCEL): NoticeState.CANCELLED,
    (NoticeState.PENDING, NoticeEvent.RETRY): NoticeState.PENDING,
    (NoticeState.PENDING, NoticeEvent.SENT): NoticeState.SENT,
    (NoticeState.PENDING, NoticeEvent.FAIL): NoticeState.FAILED,
    (NoticeState.PENDING, NoticeEvent.CANCEL): NoticeState.CANCELLED,
}


def next_notice_state(state: NoticeState | None, event: NoticeEvent) -> NoticeState:
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        name = state.value if state else "none"
        raise IllegalNoticeTransition(f"no notice transition from {name} on {event.value}") from None


def sources(event: NoticeEvent) -> tuple[NoticeState, ...]:
    """The states an existing notice may leave on `event` (none: the event only creates one)."""
    return tuple(s for (s, e) in _TRANSITIONS if e is event and s is not None)
