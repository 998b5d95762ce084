"""bot.delivery.flood: a 429's retry_after in both of PTB 22's forms, and a rate limiter that counts an
album's items as Telegram does, against the fake Bot API server with its flood limits on."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import InputMediaPhoto
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

from bot.delivery.flood import MessageRateLimiter, messages_in, retry_after_seconds, seconds
from tests.faketg import PNG, TOKEN, FakeTelegram


def test_retry_after_as_int_and_as_timedelta(monkeypatch):
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    exc = RetryAfter(7)
    assert type(exc.retry_after) is int  # PTB 22's default form: what crashed send_part (issue 28)
    assert retry_after_seconds(exc) == 7.0
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert exc.retry_after == timedelta(seconds=7)  # the opt-in (and future) form
    assert retry_after_seconds(exc) == 7.0
    assert seconds(1.5) == seconds(timedelta(milliseconds=1500)) == 1.5


def test_an_album_counts_its_items():
    media = [InputMediaPhoto(PNG) for _ in range(5)]
    assert messages_in("sendMediaGroup", {"chat_id": -1, "media": media}) == 5
    assert messages_in("forwardMessages", {"chat_id": 1, "message_ids": [4, 5, 6]}) == 3
    # One each: a message, an edit (Telegram shares the limits of sends and edits), a chat action.
    for endpoint in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "sendChatAction"):
        assert messages_in(endpoint, {"chat_id": 1}) == 1, endpoint


# 3 albums of 10 to one group and 4 albums of 10 to private chats, all at once: 70 messages in 7
# requests. The group's limit is shrunk tenfold (20 per 6 s instead of 60 s) on both sides so the
# test takes seconds; the overall one is Telegram's 30 a second.
GROUP, PRIVATE = -77, (11, 12, 13, 14)


async def _send_albums(limiter) -> tuple[FakeTelegram, list]:
    tg = await FakeTelegram(enforce_limits=True, group_period=6.0).start()
    try:
        async with ExtBot(TOKEN, base_url=tg.base_url, rate_limiter=limiter) as bot:
            album = [InputMediaPhoto(PNG) for _ in range(10)]
            results = await asyncio.gather(
                *(bot.send_media_group(chat, album) for chat in (GROUP,) * 3 + PRIVATE),
                return_exceptions=True)
        return tg, results
    finally:
        await tg.close()


async def test_albums_within_the_limits_without_a_single_429():
    # max_retries=0: any 429 would surface here instead of being waited out.
    limiter = MessageRateLimiter(group_time_period=6, max_retries=0)
    tg, results = await _send_albums(limiter)
    assert [len(r) for r in results] == [10] * 7  # every album delivered, all its photos
    assert tg.limit_hits == 0
    assert sum(len(c.result) for c in tg.sent(method="sendMediaGroup")) == 70


async def test_counting_requests_instead_runs_into_429s():
    """The same albums through PTB's own AIORateLimiter: one request is one unit to it, ten
    messages to Telegram, so the fake refuses some (this is what the test above guards)."""
    tg, results = await _send_albums(AIORateLimiter(group_time_period=6, max_retries=0))
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert refused and tg.limit_hits == len(refused)
    assert all(retry_after_seconds(r) >= 1 for r in refused)

