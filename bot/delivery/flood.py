"""Telegram's flood limits: a rate limiter that counts messages as Telegram does, and the wait a
429 asks for.

Telegram limits messages, not requests (Bot FAQ, "My bot is hitting limits"): about 30 a second
in all, 20 a minute in one group. python-telegram-bot's AIORateLimiter paces requests, so an
album of five charts (one sendMediaGroup) passes its buckets as one while Telegram counts five; on
a busy morning the bot then sends faster than Telegram accepts and lives on 429s (issue 28).
MessageRateLimiter is the same limiter, with the same aiolimiter buckets, retries and pause after
a 429, that takes as many units from each bucket as the request carries messages.

How requests are counted (Telegram publishes no table; what its developers said is cited):
- sendMediaGroup: one per item; copyMessages / forwardMessages: one per message id.
- Every other request with a chat_id counts one, as AIORateLimiter already has it: a message, a
  photo, a document; an edit ("limits for message editing and sending are shared", tdlib/td#3034);
  a chat action (Telegram does not say it is free, and this bot sends none, so counting it costs
  nothing).
- A request without a chat_id is not throttled, as in AIORateLimiter: answerCallbackQuery
  ("you can call answerCallbackQuery without any limits", tdlib/telegram-bot-api#648), getMe,
  setMyCommands.
Not modelled: "avoid more than one message per second in a single chat" (Telegram allows short
bursts, and a digest is one to three requests to a chat).
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

# The weight of the request being processed, from process_request (which sees the request) to
# _run_request (which takes from the buckets); a context variable is per task, so concurrent
# requests never see each other's.
_messages: contextvars.ContextVar[int] = contextvars.ContextVar("salespulse_flood_messages", default=1)

_PER_ITEM = {"sendMediaGroup": "media", "copyMessages": "message_ids", "forwardMessages": "message_ids"}


def messages_in(endpoint: str, data: dict[str, Any]) -> int:
    """How many messages Telegram counts for one request (see the module docstring)."""
    key = _PER_ITEM.get(endpoint)
    items = data.get(key) if key else None
    return max(1, len(items)) if isinstance(items, (list, tuple)) else 1


def seconds(value: float | timedelta) -> float:
    """A duration PTB gives as int seconds, or as a timedelta when PTB_TIMEDELTA is set."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asks for, whichever form this PTB hands it out in."""
    return seconds(exc.retry_after)


Callback = Callable[..., Coroutine[Any, Any, Any]]


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter whose overall and per-group buckets count messages, not requests.

    Overall it allows Telegram's 30 a second in bursts of at most 10 (an album's most), not 30:
    a burst is uploaded in parallel and reaches Telegram as one clump together with what the
    limiter let through while the uploads ran (issue 28: with bursts of 30, 2 of 8 runs of
    bench.load drew 429s in their first second; bench/README.md).
    """

    def __init__(self, overall_max_rate: float = 10, overall_time_period: float = 1 / 3,
                 group_max_rate: float = 20, group_time_period: float = 60, max_retries: int = 0):
        super().__init__(overall_max_rate, overall_time_period, group_max_rate, group_time_period,
                         max_retries)

    async def process_request(self, callback: Callback, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any], rate_limit_args: int | None) -> Any:
        token = _messages.set(messages_in(endpoint, data))
        try:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        finally:
            _messages.reset(token)

    async def _run_request(self, chat: bool, group: str | int | bool, allow_paid_broadcast: bool,
                           callback: Callback, args: Any, kwargs: dict[str, Any]) -> Any:
        n = _messages.get()
        if n == 1 or allow_paid_broadcast:  # one message: exactly AIORateLimiter's path
            return await super()._run_request(chat, group, allow_paid_broadcast, callback, args, kwargs)
        # The group's bucket first, then the overall one, as AIORateLimiter takes them; a bucket
        # holds at most its rate, so a request larger than that takes a full bucket.
        if group and self._group_max_rate:
            limiter = self._get_group_limiter(group)
            await limiter.acquire(min(n, limiter.max_rate))
        if chat and self._base_limiter is not None:
            await self._base_limiter.acquire(min(n, self._base_limiter.max_rate))
        await self._retry_after_event.wait()  # a 429 elsewhere pauses every request, as in PTB
        return await callback(*args, **kwargs)
