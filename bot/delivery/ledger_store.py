"""The delivery ledger in Postgres: every state change goes through `_move`, which checks it
against bot.delivery.ledger's transition table and appends a delivery_log row in the same transaction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from bot.delivery.ledger import Event, Row, State, next_state
from bot.delivery.periods import DAY


def _states(states) -> str:
    """An SQL list of ledger states, from the enum: "('working', 'waiting')". Written into the
    text, not bound, because ON CONFLICT matches the partial unique index by its predicate text."""
    return "(" + ", ".join(f"'{s.value}'" for s in states) + ")"


HOLDING = _states(s for s in State if s.holds_slot)  # the slot's partial unique index (migration 0004)
OPEN = _states(s for s in State if not s.final)


@dataclass(frozen=True)
class Claim:
    """A working ledger row this run owns. `parts_sent` > 0 means a resumed, interrupted run;
    `attempts` counts the attempts begun so far, this one included."""

    delivery_id: int
    parts_sent: int
    resumed: bool
    attempts: int = 1
    failing_since: datetime | None = None


@dataclass(frozen=True)
class LastDelivery:
    chat_id: int
    report_date: date
    state: State
    scheduled_for: datetime
    finished_at: datetime | None
    error: str | None
    next_attempt_at: datetime | None
    attempts: int
    failing_since: datetime | None
    period: str = DAY


@dataclass(frozen=True)
class Outage:
    id: int
    started_at: datetime
    cause: str | None
    delayed_told: bool
    failed_told: bool


class LedgerStore:
    engine: sa.Engine
    s: str
    # Told (state entered, the row's due time) after each transition committed: /metrics counts.
    observe: Callable[[State, datetime | None], None] | None = None

    def _observed(self, moved: list[tuple[State, datetime | None]]) -> None:
        if self.observe is not None:
            for to, due in moved:
                self.observe(to, due)

    def _log(self, conn, delivery_id, chat_id, day, frm: State | None, to: State, owner, part, reason):
        conn.execute(sa.text(f"""insert into {self.s}.delivery_log
            (delivery_id, chat_id, report_date, from_state, to_state, by_owner, part, reason)
            values (:id, :c, :d, :f, :t, :o, :p, :r)"""),
            {"id": delivery_id, "c": chat_id, "d": day, "f": frm.value if frm else None,
             "t": to.value, "o": owner, "p": part, "r": reason[:1000] if reason else None})

    def _move(self, conn, delivery_id: int, event: Event, owner: str | None, reason: str | None = None,
              next_attempt_at: datetime | None = None, expect: State | None = None,
              moved: list | None = None) -> State | None:
        """Apply `event` to a row (locked); None when the row is no longer in `expect`. The new
        state and the row's due time are appended to `moved`, for `observe` after the commit."""
        row = conn.execute(sa.text(f"""select chat_id, report_date, state, parts_sent, scheduled_for
            from {self.s}.deliveries where id = :id for update"""), {"id": delivery_id}).one()
        frm = State(row.state)
        if expect is not None and frm is not expect:
            return None
        to = next_state(frm, event)
        retrying = to is State.WAITING
        conn.execute(sa.text(f"""update {self.s}.deliveries set
                state = :st, next_attempt_at = :na,
                last_error = coalesce(:e, last_error),
                error = case when :final then coalesce(:e, error) else error end,
                failing_since = case when :failed then coalesce(failing_since, now()) else failing_since end,
                finished_at = case when :final then now() else finished_at end,
                owner = coalesce(:o, owner)
            where id = :id"""),
            {"st": to.value, "na": next_attempt_at if retrying else None, "e": reason,
             "final": to.final, "failed": reason is not None and to is not State.SENT,
             "o": owner, "id": delivery_id})
        self._log(conn, delivery_id, row.chat_id, row.report_date, frm, to, owner, row.parts_sent, reason)
        if moved is not None:
            moved.append((to, row.scheduled_for))
        return to

    # -- the slot -----------------------------------------------------------------------------
    def claim(self, chat_id: int, day: date, scheduled_for: datetime, owner: str,
              period: str = DAY) -> Claim | None:
        """Take the (chat, period, day) slot: a new row, a waiting row whose retry is due, or a
        working row no run of this process is sending (killed, or its failure could not be
        recorded: the caller checks its own in-flight set first). None when the digest is
        already sent."""
        moved: list[tuple[State, datetime | None]] = []
        claim = self._claim(chat_id, (period, day), scheduled_for, owner, moved)
        self._observed(moved)
        return claim

    def _claim(self, chat_id, slot: tuple[str, date], scheduled_for, owner, moved: list) -> Claim | None:
        period, day = slot
        with self.engine.begin() as conn:
            new_id = conn.execute(sa.text(f"""
                insert into {self.s}.deliveries (chat_id, period, report_date, scheduled_for, state, owner, attempts)
                values (:c, :p, :d, :s, :working, :o, 1)
                on conflict (chat_id, period, report_date) where state in {HOLDING} do nothing
                returning id"""), {"c": chat_id, "p": period, "d": day, "s": scheduled_for, "o": owner,
                                  "working": next_state(None, Event.CLAIM).value}).scalar()
            if new_id is not None:
                self._log(conn, new_id, chat_id, day, None, next_state(None, Event.CLAIM), owner, 0, None)
                moved.append((next_state(None, Event.CLAIM), scheduled_for))
                return Claim(new_id, 0, False)
            row = conn.execute(sa.text(f"""
                select id, state, owner, parts_sent, failing_since from {self.s}.deliveries
                where chat_id = :c and period = :p and report_date = :d and state in {HOLDING}
                """), {"c": chat_id, "p": period, "d": day}).one_or_none()
            if row is None or row.state == State.SENT.value:
                return None
            event = Event.RETRY if row.state == State.WAITING.value else Event.RESUME
            if self._move(conn, row.id, event, owner, expect=State(row.state), moved=moved) is None:
                return None  # it changed under us (sent or closed meanwhile)
            attempts = conn.execute(sa.text(f"""update {self.s}.deliveries
                set attempts = attempts + 1, resumed = resumed + :r where id = :id returning attempts"""),
                {"r": int(event is Event.RESUME), "id": row.id}).scalar()
            return Claim(row.id, row.parts_sent, row.parts_sent > 0, attempts, row.failing_since)

    def progress(self, delivery_id: int, parts_sent: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"update {self.s}.deliveries set parts_sent = :p where id = :id"),
                         {"p": parts_sent, "id": delivery_id})

    def transition(self, delivery_id: int, event: Event, owner: str | None, reason: str | None = None,
                   next_attempt_at: datetime | None = None, expect: State | None = None) -> State | None:
        moved: list[tuple[State, datetime | None]] = []
        with self.engine.begin() as conn:
            to = self._move(conn, delivery_id, event, owner, reason, next_attempt_at, expect, moved)
        self._observed(moved)
        return to

    def record_skipped(self, chat_id: int, day: date, scheduled_for: datetime, reason: str,
                       period: str = DAY) -> bool:
        """One 'skipped' row per chat, period and day, however many restarts notice the miss."""
        with self.engine.begin() as conn:
            new_id = conn.execute(sa.text(f"""
                insert into {self.s}.deliveries
                    (chat_id, period, report_date, scheduled_for, started_at, finished_at, state, error)
                select :c, :p, :d, :s, now(), now(), :skipped, :e
                where not exists (select 1 from {self.s}.deliveries
                                  where chat_id = :c and period = :p and report_date = :d)
                returning id"""), {"c": chat_id, "p": period, "d": day, "s": scheduled_for, "e": reason,
                                  "skipped": next_state(None, Event.MISS).value}).scalar()
            if new_id is not None:
                self._log(conn, new_id, chat_id, day, None, next_state(None, Event.MISS), None, 0, reason)
        if new_id is not None:
            self._observed([(next_state(None, Event.MISS), scheduled_for)])
        return new_id is not None

    def ledger_rows(self, since: date) -> list[Row]:
        """Per (chat, period, day) from `since` on: the row holding the slot, else the latest; plus
        every open (working / waiting) row, however old."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"""select distinct on (chat_id, period, report_date)
                    id, chat_id, report_date, state, scheduled_for, next_attempt_at, last_error, period
                from {self.s}.deliveries
                where report_date >= :since or state in {OPEN}
                order by chat_id, period, report_date, (state in {HOLDING}) desc, id desc"""),
                {"since": since})
            return [Row(r.id, r.chat_id, r.report_date, State(r.state), r.scheduled_for,
                        r.next_attempt_at, r.last_error, r.period) for r in rows]

    def last_deliveries(self, per_chat: int = 3) -> dict[int, list[LastDelivery]]:
        """Each chat's latest deliveries, newest first, with the reason of the last transition."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"""select * from (
                    select d.*, row_number() over (partition by chat_id order by id desc) as n,
                           (select reason from {self.s}.delivery_log l where l.delivery_id = d.id
                            and l.reason is not null order by l.id desc limit 1) as why
                    from {self.s}.deliveries d) x
                where n <= :k order by chat_id, id desc"""), {"k": per_chat})
            out: dict[int, list[LastDelivery]] = {}
            for r in rows:
                out.setdefault(r.chat_id, []).append(LastDelivery(
                    r.chat_id, r.report_date, State(r.state), r.scheduled_for, r.finished_at,
                    None if r.state == State.SENT.value else (r.error or r.last_error or r.why),
                    r.next_attempt_at, r.attempts, r.failing_since, r.period))
            return out

    def open_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(f"""select count(*) from {self.s}.deliveries
                where state in {OPEN}""")).scalar()

    # -- outages: what the admins were told ------------------------------------------------------
    def open_outage(self, since: datetime, cause: str) -> Outage:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"""insert into {self.s}.delivery_outages (started_at, cause)
                values (:t, :c) on conflict do nothing"""), {"t": since, "c": cause[:1000]})
            r = conn.execute(sa.text(f"""select * from {self.s}.delivery_outages
                where ended_at is null""")).one()
            return Outage(r.id, r.started_at, r.cause, r.delayed_told_at is not None,
                          r.failed_told_at is not None)

    def mark_told(self, outage_id: int, what: str) -> bool:
        """True for exactly one caller per outage and message: 'delayed', 'failed', or
        'error:<kind>' (an unexpected error of that kind)."""
        with self.engine.begin() as conn:
            if what.startswith("error:"):
                return conn.execute(sa.text(f"""update {self.s}.delivery_outages
                    set errors_told = array_append(errors_told, cast(:k as text))
                    where id = :id and not (cast(:k as text) = any(errors_told))"""),
                    {"id": outage_id, "k": what.removeprefix("error:")}).rowcount > 0
            col = {"delayed": "delayed_told_at", "failed": "failed_told_at"}[what]
            return conn.execute(sa.text(f"""update {self.s}.delivery_outages set {col} = now()
                where id = :id and {col} is null"""), {"id": outage_id}).rowcount > 0

    def end_outage(self) -> bool:
        """Close the open outage once no delivery is open any more."""
        with self.engine.begin() as conn:
            return conn.execute(sa.text(f"""update {self.s}.delivery_outages set ended_at = now()
                where ended_at is null and not exists (select 1 from {self.s}.deliveries
                where state in {OPEN})""")).rowcount > 0
