"""Load: 500 chats due at the same minute all get their digest, once each, within Telegram's flood
limits, against a fake server that answers 429 whenever the bot exceeds them (30 messages a
second overall, 20 a minute per group). At 30 a second this takes about 17 s of real time."""
from __future__ import annotations

import time as _time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from db.state import migrate
from tests.faketg import BotHarness, FakeTelegram

N_PRIVATE, N_GROUPS = 450, 50


async def test_500_chats_due_at_once_within_flood_limits(engine):
    schema = f"bot_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    chats = list(range(10_000, 10_000 + N_PRIVATE)) + [-(20_000 + i) for i in range(N_GROUPS)]
    with engine.begin() as conn:
        conn.execute(sa.text(f"""insert into "{schema}".subscriptions (chat_id, delivery_time, timezone)
            values (:c, '08:45', 'UTC')"""), [{"c": c} for c in chats])
    tg = await FakeTelegram(enforce_limits=True).start()
    # The bot's clock is just after the 08:45 run, whatever the wall clock says.
    h = BotHarness(tg, engine, schema, clock=lambda: datetime(2024, 3, 15, 8, 45, 30, tzinfo=UTC))
    await h.start()
    try:
        now = datetime.now(UTC)
        jobs = h.app.job_queue.jobs(r"^digest:")
        assert len(jobs) == len(chats)
        started = _time.monotonic()
        for job in jobs:  # everybody due at the same moment
            job.job.modify(next_run_time=now)
        await tg.wait_for(lambda: len(tg.sent()) >= len(chats), timeout=90, what="500 digests")
        await h.delivery.idle()
        elapsed = _time.monotonic() - started
        sent = [c.chat_id for c in tg.sent()]
        assert sorted(sent) == sorted(chats)  # each chat exactly once
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text(
                f'select state, count(*) from "{schema}".deliveries group by state')).all())
        assert states == {"sent": len(chats)}
        # The AIORateLimiter keeps the pace: no 429 storm (a handful at most, from clock skew).
        assert tg.limit_hits <= 5, tg.limit_hits
        print(f"\n500 chats: {elapsed:.1f}s, 429s: {tg.limit_hits}, digest computations: {len(h.digest.calls)}")
        assert len(h.digest.calls) == 1
    finally:
        await h.stop()
        await tg.close()
