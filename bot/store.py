"""The bot's state in Postgres: subscriptions and the delivery ledger. Synchronous SQL; the async
side calls it through asyncio.to_thread so the event loop never waits on the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    chat_title: str | None
    active: bool
    delivery_time: time
    timezone: str
    locale: str | None
    created_at: datetime
    deactivated_reason: str | None = None


@dataclass(frozen=True)
class Claim:
    """A working ledger row this run owns. `parts_sent` > 0 means a resumed, interrupted run."""

    delivery_id: int
    parts_sent: int
    resumed: bool


@dataclass(frozen=True)
class LastDelivery:
    report_date: date
    state: str
    finished_at: datetime | None
    error: str | None


_SUB_COLS = "chat_id, chat_title, active, delivery_time, timezone, locale, created_at, deactivated_reason"


class Store:
    def __init__(self, engine: Engine, schema: str):
        self.engine = engine
        self.s = f'"{schema}"'

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(self, chat_id: int, title: str | None, at: time, tz: str, locale: str | None,
                  by: int | None) -> Subscription:
        sql = sa.text(f"""
            insert into {self.s}.subscriptions
                (chat_id, chat_title, active, delivery_time, timezone, locale, created_by)
            values (:chat_id, :title, true, :at, :tz, :locale, :by)
            on conflict (chat_id) do update set
                chat_title = excluded.chat_title, active = true, delivery_time = excluded.delivery_time,
                timezone = excluded.timezone, locale = coalesce(excluded.locale, subscriptions.locale),
                updated_at = now(), deactivated_reason = null
            returning {_SUB_COLS}""")
        with self.engine.begin() as conn:
            row = conn.execute(sql, {"chat_id": chat_id, "title": title, "at": at, "tz": tz,
                                         "locale": locale, "by": by}).one()
        return Subscription(*row)

    def deactivate(self, chat_id: int, reason: str) -> bool:
        sql = sa.text(f"""update {self.s}.subscriptions
            set active = false, deactivated_reason = :reason, updated_at = now()
            where chat_id = :chat_id and active""")
        with self.engine.begin() as conn:
            return conn.execute(sql, {"chat_id": chat_id, "reason": reason}).rowcount > 0

    def get(self, chat_id: int) -> Subscription | None:
        sql = sa.text(f"select {_SUB_COLS} from {self.s}.subscriptions where chat_id = :c")
        with self.engine.connect() as conn:
            row = conn.execute(sql, {"c": chat_id}).one_or_none()
        return Subscription(*row) if row else None

    def is_active(self, chat_id: int) -> bool:
        sub = self.get(chat_id)
        return bool(sub and sub.active)

    def all(self, active_only: bool = False) -> list[Subscription]:
        where = "where active" if active_only else ""
        sql = sa.text(f"select {_SUB_COLS} from {self.s}.subscriptions {where} order by chat_id")
        with self.engine.connect() as conn:
            return [Subscription(*r) for r in conn.execute(sql)]

    def migrate_chat(self, old: int, new: int) -> bool:
        """A group became a supergroup: the subscription and its ledger follow the new id."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"delete from {self.s}.subscriptions where chat_id = :new and :old in "
                                 f"(select chat_id from {self.s}.subscriptions)"), {"old": old, "new": new})
            moved = conn.execute(sa.text(
                f"update {self.s}.subscriptions set chat_id = :new, updated_at = now() where chat_id = :old"),
                {"old": old, "new": new}).rowcount
            conn.execute(sa.text(f"update {self.s}.deliveries set chat_id = :new where chat_id = :old"),
                         {"old": old, "new": new})
        return moved > 0

    # -- the delivery ledger ----------------------------------------------------------------
    def claim(self, chat_id: int, day: date, scheduled_for: datetime, owner: str) -> Claim | None:
        """Take the (chat, day) slot. None when it is already sent or is being sent by this
        process; a working row of another owner is an interrupted run and is taken over."""
        with self.engine.begin() as conn:
            new_id = conn.execute(sa.text(f"""
                insert into {self.s}.deliveries (chat_id, report_date, scheduled_for, state, owner)
                values (:c, :d, :s, 'working', :o)
                on conflict (chat_id, report_date) where state in ('working', 'sent') do nothing
                returning id"""), {"c": chat_id, "d": day, "s": scheduled_for, "o": owner}).scalar()
            if new_id is not None:
                return Claim(new_id, 0, False)
            row = conn.execute(sa.text(f"""
                select id, state, owner, parts_sent from {self.s}.deliveries
                where chat_id = :c and report_date = :d and state in ('working', 'sent')
                for update"""), {"c": chat_id, "d": day}).one_or_none()
            if row is None or row.state == "sent" or row.owner == owner:
                return None
            conn.execute(sa.text(f"""update {self.s}.deliveries
                set owner = :o, resumed = resumed + 1 where id = :id"""), {"o": owner, "id": row.id})
            return Claim(row.id, row.parts_sent, True)

    def progress(self, delivery_id: int, parts_sent: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"update {self.s}.deliveries set parts_sent = :p where id = :id"),
                         {"p": parts_sent, "id": delivery_id})

    def finish(self, delivery_id: int, state: str, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"""update {self.s}.deliveries
                set state = :st, error = :e, finished_at = now() where id = :id"""),
                {"st": state, "e": error, "id": delivery_id})

    def record_skipped(self, chat_id: int, day: date, scheduled_for: datetime, reason: str) -> bool:
        """One 'skipped' row per chat and day, however many restarts notice the miss."""
        with self.engine.begin() as conn:
            return conn.execute(sa.text(f"""
                insert into {self.s}.deliveries
                    (chat_id, report_date, scheduled_for, started_at, finished_at, state, error)
                select :c, :d, :s, now(), now(), 'skipped', :e
                where not exists (select 1 from {self.s}.deliveries
                                  where chat_id = :c and report_date = :d)
                """), {"c": chat_id, "d": day, "s": scheduled_for, "e": reason}).rowcount > 0

    def fail_stale(self, chat_id: int, day: date, reason: str) -> None:
        """An interrupted run too old to resume: close it as failed so the slot reads honestly."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"""update {self.s}.deliveries
                set state = 'failed', error = :e, finished_at = now()
                where chat_id = :c and report_date = :d and state = 'working'"""),
                {"c": chat_id, "d": day, "e": reason})

    def ledger_state(self, chat_id: int, day: date) -> str | None:
        """'sent' or 'working' when the slot is taken, else the latest other state, else None."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(f"""select state from {self.s}.deliveries
                where chat_id = :c and report_date = :d
                order by (state in ('working', 'sent')) desc, id desc limit 1"""),
                {"c": chat_id, "d": day}).scalar()

    def last_deliveries(self) -> dict[int, LastDelivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(f"""select distinct on (chat_id)
                chat_id, report_date, state, finished_at, error from {self.s}.deliveries
                order by chat_id, id desc"""))
            return {r.chat_id: LastDelivery(r.report_date, r.state, r.finished_at, r.error) for r in rows}
