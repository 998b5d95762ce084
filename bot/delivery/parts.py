"""Sending one part of a digest (bot.delivery.messages.Part) to Telegram: the request, its own retries,
and what counts as unforeseen.

A part is retried here on timeouts, connection errors, 5xx and a 429 that outlived the rate
limiter (waiting its retry_after, in whichever form PTB gives it: issue 28). A 400, a 403 and a
migration go straight to the delivery, which knows what each means. Anything else is an error
nobody foresaw (a bug, an answer of a kind we do not know) and comes out as PartCrashed, which
the delivery treats as passing: one such error must not lose a morning digest.
"""
from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.delivery.flood import retry_after_seconds
from bot.delivery.messages import Part
from bot.service import BotOptions

log = logging.getLogger("salespulse.bot.delivery")

_FORESEEN = (BadRequest, Forbidden, ChatMigrated, NetworkError, RetryAfter)


class PartCrashed(Exception):
    """An exception nobody foresaw while sending one part; `kind` is its class name."""

    def __init__(self, part: str, cause: Exception):
        self.kind = type(cause).__name__
        super().__init__(f"{self.kind} sending the {part}: {cause}")


async def send_part(bot: Bot, options: BotOptions, chat_id: int, part: Part, digest) -> None:
    """One request, retried on timeouts, 5xx and a 429 that outlived the rate limiter; what
    nobody foresaw comes out as PartCrashed."""
    try:
        await _with_retries(bot, options, chat_id, part, digest)
    except _FORESEEN:
        raise
    except Exception as exc:
        raise PartCrashed(part.kind, exc) from exc


async def _with_retries(bot: Bot, opts: BotOptions, chat_id: int, part: Part, digest) -> None:
    for attempt in range(1, opts.send_attempts + 1):
        try:
            await request(bot, chat_id, part, digest)
            return
        except (BadRequest, Forbidden, ChatMigrated):
            raise
        except (NetworkError, RetryAfter) as exc:
            if attempt == opts.send_attempts:
                raise
            wait = (retry_after_seconds(exc) if isinstance(exc, RetryAfter)
                    else opts.send_backoff * 2 ** (attempt - 1))
            log.warning("chat %s: %s on %s (attempt %d/%d); retrying in %.1fs", chat_id,
                        type(exc).__name__, part.kind, attempt, opts.send_attempts, wait)
            await asyncio.sleep(wait)


async def request(bot: Bot, chat_id: int, part: Part, digest) -> None:
    """The one Bot API request of a part."""
    if part.kind == "text":
        await bot.send_message(chat_id, part.text)
    elif part.kind == "photo":
        chart = digest.charts[part.images[0]]
        await bot.send_photo(chat_id, chart.png, caption=part.text or None, filename=f"{chart.name}.png")
    elif part.kind == "album":
        media = [
            InputMediaPhoto(digest.charts[i].png, caption=(part.text or None) if n == 0 else None,
                            filename=f"{digest.charts[i].name}.png")
            for n, i in enumerate(part.images)
        ]
        await bot.send_media_group(chat_id, media)
    else:
        await bot.send_document(chat_id, digest.csv.encode("utf-8"),
                                filename=f"salespulse-{digest.report_date:%Y-%m-%d}.csv")
