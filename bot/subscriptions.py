"""The bot's state in Postgres: subscriptions and the delivery ledger. Synchronous SQL; the async
side calls it through asyncio.to_thread so the event loop never waits on the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.ledger_store import Claim, LastDelivery, LedgerStore, Outage  # noqa: F401 - re-exported
from db.sql import quote


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
    scope: str | None = None                      # None: the whole company
    metrics: tuple[str, ...] | None = None        # None: every metric
    daily: bool = True                            # False: the chat takes only a week or month in review


@dataclass(frozen=True)
class PeriodSub:
    """A chat's weekly or monthly digest (docs/plan.md): its own time, from `created_at` on;
    zone, language, scope and metrics are the chat's Subscription's."""
    chat_id: int
    period: str           # "week" or "month"
    delivery_time: time
    created_at: datetime


def _sub(row) -> Subscription:
    *head, metrics, daily = row
    return Subscription(*head, tuple(metrics) if metrics else None, daily)


KEEP = object()  # subscribe(): leave the chat's scope as it is


_SUB_COLS = ("chat_id, chat_title, active, delivery_time, timezone, locale, created_at, deactivated_reason, "
             "scope, metrics, daily")
_SETTABLE = {"delivery_time", "timezone", "locale", "scope", "metrics", "daily"}


class Store(LedgerStore):
    def __init__(self, engine: Engine, schema: str, observe=None):
        self.engine = engine
        self.s = quote(schema, "state schema")
        self.observe = observe  # LedgerStore.observe: the Application's Telemetry.delivery_state

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(self, chat_id: int, title: str | None, at: time, tz: str, locale: str | None,
                  by: int | None, scope=KEEP, conn=None, daily: bool = True) -> Subscription:
        """Subscribe or re-subscribe. A re-subscription keeps the chat's scope unless `scope` is
        given explicitly (None: the whole company), so nothing widens a scoped chat by accident.
        Not `daily`: the chat is subscribed for a week or month in review (set_period), which
        changes neither its daily digest nor its time (a chat that had none gets none)."""
        sql = sa.text(f"""
            insert into {self.s}.subscriptions
                (chat_id, chat_title, active, delivery_time, timezone, locale, created_by, scope, daily)
            values (:chat_id, :title, true, :at, :tz, :locale, :by, :scope, :daily)
            on conflict (chat_id) do update set
                chat_title = excluded.chat_title, active = true,
                delivery_time = case when excluded.daily then excluded.delivery_time else subscriptions.delivery_time end,
                daily = excluded.daily or (subscriptions.daily and subscriptions.active),
                timezone = excluded.timezone, locale = coalesce(excluded.locale, subscriptions.locale),
                updated_at = now(), deactivated_reason = null,
                scope = case when :set_scope then excluded.scope else subscriptions.scope end
            returning {_SUB_COLS}""")
        params = {"chat_id": chat_id, "title": title, "at": at, "tz": tz, "locale": locale, "by": by,
                  "scope": None if scope is KEEP else scope, "set_scope": scope is not KEEP, "daily": daily}
        if conn is not None:  # part of the caller's transaction (an invite being redeemed)
            return _sub(conn.execute(sql, params).one())
        with self.engine.begin() as own:
            return _sub(own.execute(sql, params).one())

    def update(self, chat_id: int, **changes) -> Subscription | None:
        """Change some of a subscription's settings (/settings); None when there is none."""
        assert changes and set(changes) <= _SETTABLE, changes
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        values = {k: list(v) if k == "metrics" and v is not None else v for k, v in changes.items()}
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(f"""update {self.s}.subscriptions set {sets}, updated_at = now()
                where chat_id = :chat_id returning {_SUB_COLS}"""), {**values, "chat_id": chat_id}).one_or_none()
        return _sub(row) if row else None

    def scopes_in_use(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(
                f"select distinct scope from {self.s}.subscriptions where scope is not null order by 1")).scalars())

    def deactivate(self, chat_id: int, reason: str) -> bool:
        """Every digest of the chat off: the daily one, and its weekly and monthly ones forgotten."""
        sql = sa.text(f"""update {self.s}.subscriptions
            set active = false, deactivated_reason = :reason, updated_at = now()
            where chat_id = :chat_id and active""")
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"delete from {self.s}.subscription_periods where chat_id = :c"), {"c": chat_id})
            return conn.execute(sql, {"chat_id": chat_id, "reason": reason}).rowcount > 0

    # -- the week and the month in review ---------------------------------------------------
    def set_period(self, chat_id: int, period: str, at: time) -> PeriodSub:
        """The chat's weekly or monthly digest at `at` (a new one is due from now on)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(f"""insert into {self.s}.subscription_periods (chat_id, period, delivery_time)
                values (:c, :p, :at) on conflict (chat_id, period) do update set delivery_time = excluded.delivery_time
                returning chat_id, period, delivery_time, created_at"""), {"c": chat_id, "p": period, "at": at}).one()
        return PeriodSub(*row)

    def drop_period(self, chat_id: int, period: str) -> bool:
        """The chat's weekly or monthly digest off; a chat left with no digest at all is deactivated."""
        with self.engine.begin() as conn:
            gone = conn.execute(sa.text(f"delete from {self.s}.subscription_periods where chat_id = :c and period = :p"),
                                {"c": chat_id, "p": period}).rowcount > 0
            conn.execute(sa.text(f"""update {self.s}.subscriptions set active = false, updated_at = now(),
                    deactivated_reason = 'unsubscribed from its last digest'
                where chat_id = :c and active and not daily
                  and not exists (select 1 from {self.s}.subscription_periods where chat_id = :c)"""), {"c": chat_id})
        return gone

    def periods(self, chat_id: int | None = None) -> list[PeriodSub]:
        """The weekly and monthly digests (of one chat, or of all)."""
        where = "where chat_id = :c" if chat_id is not None else ""
        with self.engine.connect() as conn:
            return [PeriodSub(*r) for r in conn.execute(sa.text(
                f"select chat_id, period, delivery_time, created_at from {self.s}.subscription_periods {where} "
                "order by chat_id, period"), {"c": chat_id})]

    def get(self, chat_id: int) -> Subscription | None:
        sql = sa.text(f"select {_SUB_COLS} from {self.s}.subscriptions where chat_id = :c")
        with self.engine.connect() as conn:
            row = conn.execute(sql, {"c": chat_id}).one_or_none()
        return _sub(row) if row else None

    def is_active(self, chat_id: int) -> bool:
        sub = self.get(chat_id)
        return bool(sub and sub.active)

    def all(self, active_only: bool = False) -> list[Subscription]:
        where = "where active" if active_only else ""
        sql = sa.text(f"select {_SUB_COLS} from {self.s}.subscriptions {where} order by chat_id")
        with self.engine.connect() as conn:
            return [_sub(r) for r in conn.execute(sql)]

    def migrate_chat(self, old: int, new: int) -> bool:
        """A group became a supergroup: the subscription and its ledger follow the new id."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"delete from {self.s}.subscriptions where chat_id = :new and :old in "
                                 f"(select chat_id from {self.s}.subscriptions)"), {"old": old, "new": new})
            moved = conn.execute(sa.text(
                f"update {self.s}.subscriptions set chat_id = :new, updated_at = now() where chat_id = :old"),
                {"old": old, "new": new}).rowcount
            conn.execute(sa.text(f"""delete from {self.s}.subscription_periods where chat_id = :new
                and exists (select 1 from {self.s}.subscription_periods where chat_id = :old)"""),
                {"old": old, "new": new})
            conn.execute(sa.text(f"update {self.s}.subscription_periods set chat_id = :new where chat_id = :old"),
                         {"old": old, "new": new})
            for table in ("deliveries", "delivery_log"):
                conn.execute(sa.text(f"update {self.s}.{table} set chat_id = :new where chat_id = :old"),
                             {"old": old, "new": new})
        return moved > 0
