"""Progress of a /report in its chat: one "preparing…" message, edited as the digest advances
(never a new message per step), at most one edit every `interval` seconds, and a last edit when
the digest is ready. Edits are best effort: a failed edit never holds up the digest."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import date

from telegram import Bot, Message

from db.i18n import known, t

log = logging.getLogger("salespulse.bot.progress")


def stage_label(name: str, locale: str) -> str:
    """The words for a stage the digest builder reports (reports.digest.build_digest's
    `progress`: "sessions", each metric's name, "charts"): the catalogue's stage.<name>, else the
    metric's title metric.<name>, else the name as it comes."""
    for key in (f"stage.{name}", f"metric.{name}"):
        if known(key):
            return t(key, locale)
    return name


class ChatProgress:
    def __init__(self, bot: Bot, chat_id: int, locale: str, day: date, interval: float):
        self._bot, self._chat_id, self._loc, self._day = bot, chat_id, locale, day
        self._interval = interval
        self._message: Message | None = None
        self._last_edit = 0.0
        self._shown: str | None = None
        self._wanted: str | None = None
        self._pending: asyncio.Task | None = None

    async def start(self) -> None:
        self._shown = t("bot.computing", self._loc, day=f"{self._day:%Y-%m-%d}")
        self._message = await self._bot.send_message(self._chat_id, self._shown)
        self._last_edit = time.monotonic()

    def stage(self, name: str) -> None:
        """Called on the event loop (DigestCache relays it from the worker thread)."""
        self._want(t("bot.computing_stage", self._loc, day=f"{self._day:%Y-%m-%d}",
                     stage=stage_label(name, self._loc)))

    async def done(self) -> None:
        """The digest is ready: say so (throttled like every edit, in the background)."""
        self._want(t("bot.report_ready", self._loc, day=f"{self._day:%Y-%m-%d}"))

    def _want(self, text: str) -> None:
        self._wanted = text
        if self._message is not None and (self._pending is None or self._pending.done()):
            self._pending = asyncio.ensure_future(self._edit_soon())

    async def _edit_soon(self) -> None:
        while self._wanted is not None and self._wanted != self._shown:
            await asyncio.sleep(max(0.0, self._last_edit + self._interval - time.monotonic()))
            text = self._wanted
            self._last_edit = time.monotonic()
            try:
                await self._message.edit_text(text)
                self._shown = text
            except Exception as exc:  # noqa: BLE001 - progress is a courtesy
                log.info("chat %s: could not edit the progress message: %s", self._chat_id, exc)
                return
