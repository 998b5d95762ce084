"""Alert rules in Postgres: the rules, the append-only alert_log, and the alert_notices ledger.

`record` is the one place a rule changes state: it locks the rule, applies
reports.alert_machine.step, and in the same transaction logs the evaluation (and the transition,
if any) and writes the notice the step calls for. A notice row exists before anything is sent,
and (rule_id, seq) is unique, so one transition gives at most one notice however often a
killed process is restarted; `pending_notices` is what is still to send. A notice's own life
(bot.alerts.notices: pending, sent, failed, cancelled, suppressed) changes only in `_notice` and
`_move_notices`, each change checked against its transition table and logged in
alert_notice_log in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.alerts.notices import NoticeEvent, NoticeState, next_notice_state, sources
from db.sql import quote
from reports.alert_eval import Reading
from reports.alert_machine import Notice, State, Step, step
from reports.alert_rules import RuleSpec


@dataclass(frozen=True)
class Rule:
    id: int
    chat_id: int
    spec: RuleSpec
    scope: str | None
    state: State | None
    told_firing: bool
    last_value: float | None
    last_day: date | None
    last_error: str | None
    evaluated_at: datetime | None
    changed_at: datetime | None
    snoozed_until: datetime | None
    muted: bool
    seq: int = 0  # notices so far: the next one is seq + 1

    def quiet(self, now: datetime) -> bool:
        return self.muted or (self.snoozed_until is not None and now < self.snoozed_until)


@dataclass(frozen=True)
class PendingNotice:
    id: int
    rule_id: int
    chat_id: int
    kind: Notice
    value: float | None
    detail: str | None
    attempts: int
    day: date | None = None
    low: float | None = None
    high: float | None = None


_COLS = ("id, chat_id, target, op, threshold, kind, scope, state, told_firing, last_value, last_day, "
         "last_error, evaluated_at, changed_at, snoozed_until, muted, seq")


def _rule(r) -> Rule:
    spec = RuleSpec(r.target, r.op, float(r.threshold) if r.threshold is not None else None, r.kind)
    return Rule(r.id, r.chat_id, spec, r.scope, State(r.state) if r.state else None, r.told_firing,
                r.last_value, r.last_day, r.last_error, r.evaluated_at, r.changed_at, r.snoozed_until, r.muted,
                r.seq)


class AlertStore:
    def __init__(self, engine: Engine, schema: str):
        self.engine = engine
        self.s = quote(schema, "state schema")

    # -- rules ----------------------------------------------------------------------------------
    def create(self, chat_id: int, spec: RuleSpec, scope: str | None, by: int | None) -> Rule:
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(f"""insert into {self.s}.alert_rules
                    (chat_id, target, op, threshold, kind, scope, created_by)
                values (:c, :t, :o, :n, :k, :s, :b) returning {_COLS}"""),
                {"c": chat_id, "t": spec.target, "o": spec.op, "n": spec.threshold, "k": spec.kind,
                 "s": scope, "b": by}).one()
        return _rule(row)

    def rules(self, chat_id: int | None = None) -> list[Rule]:
        """Live rules (of one chat), oldest first."""
        where = "" if chat_id is None else "and chat_id = :c"
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"""select {_COLS} from {self.s}.alert_rules
                where deleted_at is null {where} order by id"""), {"c": chat_id})
            return [_rule(r) for r in rows]

    def get(self, rule_id: int) -> Rule | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(f"""select {_COLS} from {self.s}.alert_rules
                where id = :id and deleted_at is null"""), {"id": rule_id}).one_or_none()
        return _rule(row) if row else None

    def delete(self, chat_id: int, rule_id: int) -> bool:
        """Only a rule of this chat; its unsent notices are cancelled with it."""
        with self.engine.begin() as conn:
            gone = conn.execute(sa.text(f"""update {self.s}.alert_rules set deleted_at = now()
                where id = :id and chat_id = :c and deleted_at is null"""),
                {"id": rule_id, "c": chat_id}).rowcount > 0
            if gone:
                self._move_notices(conn, NoticeEvent.CANCEL, "rule_id = :id", {"id": rule_id}, "rule removed")
            return gone

    def quieten(self, chat_id: int, rule_id: int, **change) -> Rule | None:
        """Snooze (`until`: an instant, or None to clear) and / or mute (`muted`); a setting not
        given stays as it is. None when the chat has no such rule."""
        assert change and set(change) <= {"until", "muted"}, change
        sets = ", ".join({"until": "snoozed_until = :until", "muted": "muted = :muted"}[k] for k in change)
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(f"""update {self.s}.alert_rules set {sets}
                where id = :id and chat_id = :c and deleted_at is null returning {_COLS}"""),
                {**change, "id": rule_id, "c": chat_id}).one_or_none()
        return _rule(row) if row else None

    def migrate_chat(self, old: int, new: int) -> None:
        with self.engine.begin() as conn:
            for table in ("alert_rules", "alert_log", "alert_notices"):
                conn.execute(sa.text(f"update {self.s}.{table} set chat_id = :new where chat_id = :old"),
                             {"old": old, "new": new})

    # -- evaluations ------------------------------------------------------------------------------
    def record(self, rule_id: int, reading: Reading, now: datetime, scope: str | None) -> Step | None:
        """Apply one reading to the rule (None if it was removed meanwhile)."""
        with self.engine.begin() as conn:
            r = conn.execute(sa.text(f"""select {_COLS} from {self.s}.alert_rules
                where id = :id and deleted_at is null for update"""), {"id": rule_id}).one_or_none()
            if r is None:
                return None
            rule = _rule(r)
            s = step(rule.state, rule.told_firing, reading.outcome, quiet=rule.quiet(now))
            seq = rule.seq + 1 if s.notice is not None else rule.seq
            conn.execute(sa.text(f"""update {self.s}.alert_rules set state = :st, told_firing = :told,
                    seq = :seq, last_value = :v, last_day = coalesce(:d, last_day), last_error = :e,
                    evaluated_at = :now, changed_at = case when :changed then :now else changed_at end
                where id = :id"""),
                {"st": s.to.value, "told": s.told_firing, "seq": seq, "v": reading.value,
                 # a flow day that failed is read again at the next tick; one that was read is done
                 "d": reading.day if s.to is not State.ERROR else None, "e": reading.detail if s.to is State.ERROR else None, "now": now, "changed": s.changed,
                 "id": rule_id})
            base = {"r": rule_id, "c": rule.chat_id, "at": reading.at, "d": reading.day, "s": scope,
                    "v": reading.value, "f": rule.state.value if rule.state else None, "t": s.to.value}
            log_sql = sa.text(f"""insert into {self.s}.alert_log (rule_id, chat_id, kind, at, evaluated_for,
                    report_date, scope, value, from_state, to_state, reason)
                values (:r, :c, :k, :now, :at, :d, :s, :v, :f, :t, :why)""")
            conn.execute(log_sql, base | {"k": "evaluation", "now": now, "why": (reading.detail or "")[:1000] or None})
            if s.changed:
                conn.execute(log_sql, base | {"k": "transition", "now": now,
                                              "why": (reading.detail or "")[:1000] or None})
            if s.notice is not None:
                self._notice(conn, rule, seq, s, reading)
            return s

    def _notice(self, conn, rule: Rule, seq: int, s: Step, reading: Reading) -> None:
        event, why = (NoticeEvent.SUPPRESS, "snoozed or muted") if s.suppressed else (NoticeEvent.QUEUE, None)
        if s.notice is Notice.RESOLVED and not s.suppressed:
            # The chat never saw the firing message (still unsent): nothing to resolve, say neither.
            why = "resolved before it was sent"
            if self._move_notices(conn, NoticeEvent.CANCEL, "rule_id = :r and kind = 'firing'", {"r": rule.id}, why):
                event = NoticeEvent.CANCEL
            else:
                why = None
        to = next_notice_state(None, event)
        conn.execute(sa.text(f"""
            with created as (
                insert into {self.s}.alert_notices
                    (rule_id, seq, chat_id, kind, state, text_value, report_date, band_low, band_high, detail)
                values (:r, :seq, :c, :k, :st, :v, :day, :lo, :hi, :d)
                returning id, rule_id, chat_id
            )
            insert into {self.s}.alert_notice_log (notice_id, rule_id, chat_id, event, from_state, to_state, reason)
            select id, rule_id, chat_id, :ev, null, :st, :why from created"""),
            {"r": rule.id, "seq": seq, "c": rule.chat_id, "k": s.notice.value, "st": to.value,
             "v": reading.value, "day": reading.day, "lo": reading.low, "hi": reading.high,
             "d": (reading.detail or "")[:1000] or None, "ev": event.value, "why": why})

    def _move_notices(self, conn, event: NoticeEvent, where: str, params: dict, reason: str | None,
                      message_id: int | None = None) -> int:
        """Every notice matching `where` that may take `event` moves, with a log row each; how many."""
        (frm,) = sources(event)  # every move leaves PENDING (bot.alerts.notices)
        to = next_notice_state(frm, event)
        return conn.execute(sa.text(f"""
            with moved as (
                update {self.s}.alert_notices set state = :to, last_error = :why,
                    message_id = coalesce(:m, message_id),
                    sent_at = case when :to = 'sent' then now() else sent_at end
                where {where} and state = :frm
                returning id, rule_id, chat_id
            )
            insert into {self.s}.alert_notice_log (notice_id, rule_id, chat_id, event, from_state, to_state, reason)
            select id, rule_id, chat_id, :ev, :frm, :to, :why from moved"""),
            params | {"to": to.value, "frm": frm.value, "ev": event.value, "m": message_id,
                      "why": reason[:1000] if reason else None}).rowcount

    # -- the notices ledger -------------------------------------------------------------------------
    def pending_notices(self) -> list[PendingNotice]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"""select id, rule_id, chat_id, kind, text_value, detail, attempts,
                    report_date, band_low, band_high
                from {self.s}.alert_notices where state = :pending order by id"""),
                {"pending": NoticeState.PENDING.value})
            return [PendingNotice(r.id, r.rule_id, r.chat_id, Notice(r.kind), r.text_value, r.detail,
                                  r.attempts, r.report_date, r.band_low, r.band_high) for r in rows]

    def attempt(self, notice_id: int) -> bool:
        """Count an attempt; False when the notice is no longer pending (cancelled meanwhile)."""
        with self.engine.begin() as conn:
            return conn.execute(sa.text(f"""update {self.s}.alert_notices set attempts = attempts + 1
                where id = :id and state = :pending"""),
                {"id": notice_id, "pending": NoticeState.PENDING.value}).rowcount > 0

    def finish(self, notice_id: int, event: NoticeEvent, message_id: int | None = None,
               error: str | None = None) -> None:
        """SENT or FAIL: a pending notice's end."""
        with self.engine.begin() as conn:
            self._move_notices(conn, event, "id = :id", {"id": notice_id}, error, message_id)

    def note_error(self, notice_id: int, error: str) -> None:
        """A passing fault (RETRY): still pending, tried again at the next check."""
        with self.engine.begin() as conn:
            self._move_notices(conn, NoticeEvent.RETRY, "id = :id", {"id": notice_id}, error)
