"""The delivery ledger as a state machine: states, events, and the pure decisions over them.

Modelled on Superset's report executor (a state enum, one transition per event, a log row per
transition), with one difference Superset lacks: the (chat, period, day) slot is held by a partial
unique index while a row is working, waiting or sent, so a second digest for a day (or a second
weekly or monthly digest for its period: bot.delivery.periods) cannot be written.

    (none) --claim--> WORKING --sent--> SENT
    (none) --miss---> SKIPPED                 (missed beyond the grace period)
    WORKING --retryable failure--> WAITING    (next attempt within grace)
    WORKING --final failure / blocked / expired--> FAILED
    WORKING --resume--> WORKING               (an interrupted run taken over)
    WAITING --retry--> WORKING
    WAITING --expire / cancel--> FAILED
Nothing here does I/O: the sweep asks `plan` what is due, and the delivery asks `after_failure`
what a failure means; both are unit-tested transition by transition.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.periods import DAY, last_run


class State(enum.Enum):
    WORKING = "working"
    WAITING = "waiting"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def holds_slot(self) -> bool:
        return self in (State.WORKING, State.WAITING, State.SENT)

    @property
    def final(self) -> bool:
        return self in (State.SENT, State.FAILED, State.SKIPPED)


class Event(enum.Enum):
    CLAIM = "claim"          # a new run takes the slot
    MISS = "miss"            # the run was missed and the grace period is over
    RESUME = "resume"        # an interrupted run (killed, or its failure never recorded) goes on
    RETRY = "retry"          # a waiting run's next attempt begins
    SENT = "sent"
    RETRYABLE = "retryable"  # database down, Telegram unreachable / 5xx / timeout
    FINAL = "final"          # a failure no retry can fix (a bug, a 400)
    BLOCKED = "blocked"      # 403: the chat blocked the bot
    EXPIRE = "expire"        # the grace period ended while waiting (or interrupted)
    CANCEL = "cancel"        # the subscription went away while waiting


class Outcome(enum.Enum):
    """What one call of Delivery.deliver came to."""

    SENT = "sent"
    DUPLICATE = "duplicate"  # already sent, or being sent by this process
    DELAYED = "delayed"      # failed for a passing reason; waits for its next attempt
    FAILED = "failed"
    BLOCKED = "blocked"


class IllegalTransition(ValueError):
    pass


_TRANSITIONS: dict[tuple[State | None, Event], State] = {
    (None, Event.CLAIM): State.WORKING,
    (None, Event.MISS): State.SKIPPED,
    (State.WORKING, Event.SENT): State.SENT,
    (State.WORKING, Event.RETRYABLE): State.WAITING,
    (State.WORKING, Event.FINAL): State.FAILED,
    (State.WORKING, Event.BLOCKED): State.FAILED,
    (State.WORKING, Event.EXPIRE): State.FAILED,
    (State.WORKING, Event.CANCEL): State.FAILED,
    (State.WORKING, Event.RESUME): State.WORKING,
    (State.WAITING, Event.RETRY): State.WORKING,
    (State.WAITING, Event.EXPIRE): State.FAILED,
    (State.WAITING, Event.CANCEL): State.FAILED,
}


def next_state(state: State | None, event: Event) -> State:
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        name = state.value if state else "none"
        raise IllegalTransition(f"no transition from {name} on {event.value}") from None


# -- retries --------------------------------------------------------------------------------
DEFAULT_WAITS: tuple[float, ...] = (60, 120, 300, 600, 900)  # seconds; the last one repeats


def retry_wait(attempts: int, waits: Sequence[float] = DEFAULT_WAITS) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1-based): 1, 2, 5, 10, 15, 15, ... min."""
    return timedelta(seconds=waits[min(max(attempts, 1), len(waits)) - 1])


@dataclass(frozen=True)
class Decision:
    state: State
    next_attempt_at: datetime | None
    reason: str


def after_failure(event: Event, *, attempts: int, scheduled_for: datetime, now: datetime,
                  grace: timedelta, error: str, waits: Sequence[float] = DEFAULT_WAITS) -> Decision:
    """What a failed attempt (the `attempts`-th) turns a working row into. A passing failure
    waits while its next attempt still falls inside the grace period, else it is final."""
    if event is Event.RETRYABLE:
        at = now + retry_wait(attempts, waits)
        if at <= scheduled_for + grace:
            return Decision(next_state(State.WORKING, event), at, error)
        return Decision(next_state(State.WORKING, Event.EXPIRE), None,
                        f"{error}; grace period of {grace} over, not retried")
    return Decision(next_state(State.WORKING, event), None, error)


# -- what is due ------------------------------------------------------------------------------
class Action(enum.Enum):
    DELIVER = "deliver"  # claim (or resume / retry) and send
    SKIP = "skip"        # missed and too late: record a skipped row
    EXPIRE = "expire"    # an open row whose grace period is over: close it as failed
    CANCEL = "cancel"    # an open row whose subscription is gone: close it as failed


@dataclass(frozen=True)
class Sub:
    chat_id: int
    delivery_time: time
    timezone: str
    locale: str | None
    created_at: datetime
    period: str = DAY  # or "week" / "month": the digest in review (bot.delivery.periods)


@dataclass(frozen=True)
class Row:
    """The ledger row that holds a slot (working / waiting / sent), or the latest other one."""

    delivery_id: int
    chat_id: int
    report_date: date
    state: State
    scheduled_for: datetime
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    period: str = DAY


@dataclass(frozen=True)
class Due:
    action: Action
    chat_id: int
    day: date
    scheduled_for: datetime
    timezone: str | None = None
    locale: str | None = None
    delivery_id: int | None = None
    reason: str = ""
    period: str = DAY


def last_occurrence(at: time, tz: str, now: datetime) -> datetime:
    """The latest local `at` in zone `tz` that is not after `now` (aware)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for back in range(3):
        candidate = datetime.combine(local.date() - timedelta(days=back), at, zone)
        if candidate <= now:
            return candidate
    raise AssertionError("unreachable")


def report_day(scheduled_for: datetime, tz: str) -> date:
    """A run at 08:45 local on the 15th reports the 14th."""
    return scheduled_for.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


def plan(subs: Iterable[Sub], rows: Iterable[Row], now: datetime, grace: timedelta,
         busy: frozenset[int] = frozenset(), fired: frozenset[int] = frozenset(),
         missed_because: str = "bot was down") -> list[Due]:
    """Given the active subscriptions, the ledger rows of their slots and every open row, and
    now: what to do, in due-time order. `busy` are delivery ids this process is sending now;
    `fired` are chats whose daily job has just fired (due even if subscribed after the run).
    A chat's weekly and monthly digests are subscriptions of their own (Sub.period), each with
    its own slots."""
    subs = {(s.chat_id, s.period): s for s in subs}
    by_slot: dict[tuple[int, str, date], Row] = {}
    for r in rows:
        by_slot.setdefault((r.chat_id, r.period, r.report_date), r)
    out: list[Due] = []
    for r in by_slot.values():
        if r.state.final or r.delivery_id in busy:
            continue
        sub = subs.get((r.chat_id, r.period))
        base = {"chat_id": r.chat_id, "day": r.report_date, "scheduled_for": r.scheduled_for,
                "delivery_id": r.delivery_id, "period": r.period}
        if sub is None:
            out.append(Due(Action.CANCEL, **base, reason="subscription is off"))
        elif now > r.scheduled_for + grace:
            out.append(Due(Action.EXPIRE, **base, reason=(
                f"{r.last_error or 'interrupted'}; grace period of {grace} over, not retried")))
        elif r.state is State.WORKING or (r.next_attempt_at is None or r.next_attempt_at <= now):
            out.append(Due(Action.DELIVER, **base, timezone=sub.timezone, locale=sub.locale))
    for sub in subs.values():
        scheduled = last_run(sub.period, sub.delivery_time, sub.timezone, now)
        day = report_day(scheduled, sub.timezone)
        if (sub.chat_id, sub.period, day) in by_slot:
            continue
        if scheduled < sub.created_at and not (sub.period == DAY and sub.chat_id in fired):
            continue  # subscribed after that run: nothing was missed
        late = now - scheduled
        if late <= grace:
            out.append(Due(Action.DELIVER, sub.chat_id, day, scheduled, sub.timezone, sub.locale, period=sub.period))
        else:
            out.append(Due(Action.SKIP, sub.chat_id, day, scheduled, reason=(
                f"{missed_because} at {scheduled.isoformat()}; {late} late exceeds the grace period {grace}"),
                period=sub.period))
    return sorted(out, key=lambda d: (d.scheduled_for, d.chat_id))
