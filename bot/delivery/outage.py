"""What the admins hear about an outage: at most one "delayed" and one "given up" message each,
and one message per kind of unexpected error (AttributeError, ...) while sending.

An outage lasts from the first passing failure of a delivery until a sweep finds nothing open.
It is a row in delivery_outages, and what the admins were told is marked there atomically, so
parallel failures and a restart tell them once. While the database itself is down nothing can
be written: the outage is then kept in memory and written down as soon as the database answers.
An unexpected error is told apart from the plain "delayed": it is a bug to look at, not a network
to wait out, and a second kind of error in the same outage is news too.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.service import Clock, is_db_outage
from bot.subscriptions import Store

log = logging.getLogger("salespulse.bot.outage")

Notify = Callable[..., Awaitable[None]]  # notify_admins(key, **fields)


@dataclass
class _Memory:
    since: datetime
    cause: str
    told: set[str] = field(default_factory=set)  # 'delayed', 'failed', 'error:<kind>'


class OutageNotices:
    def __init__(self, store: Store, notify: Notify, clock: Clock):
        self._store = store
        self._notify = notify
        self._clock = clock
        self._memory: _Memory | None = None

    async def _first(self, what: str, cause: str) -> tuple[bool, datetime]:
        """(True for the first caller of `what` in this outage, when the outage began)."""
        try:
            outage = await asyncio.to_thread(self._store.open_outage, self._since(), cause)
            await self._flush(outage.id)
            return await asyncio.to_thread(self._store.mark_told, outage.id, what), outage.started_at
        except Exception as exc:
            if not is_db_outage(exc):
                raise
        memory = self._memory or _Memory(self._clock(), cause)
        self._memory = memory
        told = what in memory.told
        memory.told.add(what)
        return not told, memory.since

    def _since(self) -> datetime:
        return self._memory.since if self._memory else self._clock()

    async def _flush(self, outage_id: int) -> None:
        """The database is back: write down what was told while it was not."""
        memory, self._memory = self._memory, None
        if memory is not None:
            for what in sorted(memory.told):
                await asyncio.to_thread(self._store.mark_told, outage_id, what)

    def note_db_down(self, cause: str) -> None:
        """The sweep could not read the database: an outage began (if none is known)."""
        if self._memory is None:
            self._memory = _Memory(self._clock(), cause)

    @property
    def db_down_since(self) -> datetime | None:
        return self._memory.since if self._memory else None

    async def delayed(self, *, day, chats, error: str, next_at: datetime | None, until: datetime) -> None:
        first, since = await self._first("delayed", error)
        if first:
            await self._notify("admin_delayed", day=day, chats=_chats(chats), error=error,
                               since=_t(since), next=_t(next_at) if next_at else "—", until=_t(until))
        else:
            log.info("delivery to %s delayed (%s); the admins were already told", _chats(chats), error)

    async def unexpected(self, *, kind: str, day, chats, error: str, next_at: datetime,
                         until: datetime) -> None:
        """A part raised what nobody foresaw; the delivery waits. Told once per `kind`."""
        first, since = await self._first(f"error:{kind}", error)
        if first:
            await self._notify("admin_unexpected", kind=kind, day=day, chats=_chats(chats), error=error,
                               since=_t(since), next=_t(next_at), until=_t(until))
        else:
            log.info("delivery to %s delayed by %s again; the admins were already told", _chats(chats), kind)

    async def gave_up(self, *, day, chats, error: str) -> None:
        first, since = await self._first("failed", error)
        if first:
            key = "admin_gave_up_db" if error.startswith("database") else "admin_gave_up"
            await self._notify(key, day=day, chats=_chats(chats), error=error, since=_t(since))
        else:
            log.warning("digest for %s not delivered to %s (%s); the admins were already told",
                        day, _chats(chats), error)

    async def over(self) -> None:
        """A sweep found nothing open: the outage (if any) is over."""
        self._memory = None
        ended = await asyncio.to_thread(self._store.end_outage)
        if ended:
            log.info("delivery outage over: nothing waits any more")


def _chats(chats) -> str:
    return ", ".join(str(c) for c in ([chats] if isinstance(chats, int) else chats))


def _t(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
