"""Issue 25's webhook mode: the same end-to-end run as polling, with the updates POSTed by the
fake Bot API server to python-telegram-bot's webhook (tornado) with the secret header."""
from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, time

import aiohttp
import pytest

from tests.faketg import ADMIN, GROUP, BotHarness

RUN = datetime(2024, 3, 15, 8, 45, 30, tzinfo=UTC)  # the bot's clock: 30 s after an 08:45 run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def harness(tg, engine, schema, mode: str) -> BotHarness:
    if mode == "polling":
        return BotHarness(tg, engine, schema, clock=lambda: RUN)
    port = free_port()
    return BotHarness(tg, engine, schema, clock=lambda: RUN, webhook_listen="127.0.0.1", webhook_port=port,
                      telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/{uuid.uuid4().hex[:8]}",
                      telegram_webhook_secret="s3cret-" + uuid.uuid4().hex)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_subscribe_then_the_scheduled_digest_arrives_once(tg, engine, schema, mode):
    h = await harness(tg, engine, schema, mode).start()
    try:
        reply = await h.reply(GROUP, ADMIN, "/subscribe 08:45 UTC")
        assert "08:45" in reply and "UTC" in reply
        (job,) = h.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
        job.job.modify(next_run_time=datetime.now(UTC))  # fire the real APScheduler job now
        await tg.wait_for(lambda: tg.sent(GROUP, "sendMediaGroup"), what="the scheduled digest")
        await h.delivery.idle()
        await job.run(h.app)  # fired again the same day: the ledger holds the slot
        await h.delivery.idle()
        (row,) = h.ledger(GROUP)
        assert (row["state"], row["parts_sent"]) == ("sent", 1)
        assert row["scheduled_for"].astimezone(UTC).time() == time(8, 45)
        assert len(tg.sent(GROUP, "sendMediaGroup")) == 1
        assert "2024-03-14" in tg.sent(GROUP, "sendMediaGroup")[0].text
        polled = any(c.method == "getUpdates" for c in tg.calls)
        if mode == "polling":
            assert polled and tg.webhook is None
        else:
            url, secret = tg.webhook
            assert (url, secret) == (h.settings.telegram_webhook_url, h.settings.telegram_webhook_secret)
            assert not polled and tg.webhook_posts == [200]  # the /subscribe, over the webhook
            # An update without the right secret is refused and never handled.
            before = len(tg.sent(GROUP, ok_only=False))
            async with aiohttp.ClientSession() as session, session.post(
                    url, json={"update_id": 999, "message": {"message_id": 1, "date": 0, "text": "/status",
                               "chat": {"id": GROUP, "type": "group", "title": "G"},
                               "from": {"id": ADMIN, "is_bot": False, "first_name": "A"}}},
                    headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                assert response.status == 403
            status = await h.reply(GROUP, ADMIN, "/status")
            assert status.startswith("Subscriptions:\n-4242") and "2024-03-14: sent" in status
            assert len(tg.sent(GROUP, ok_only=False)) == before + 1  # only the real /status answered
    finally:
        await h.stop()
