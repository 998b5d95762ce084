"""Load: 250 chats due at the same minute all get their digest, once each, within Telegram's flood
limits, against a fake server that answers 429 whenever the bot exceeds them (30 messages a
second overall, 20 a minute per group) and counts each album item as a message, as Telegram
does. 200 private chats take two metrics (an album of 2 charts), 50 groups all five (an album
of 5): 650 messages, about 22 s of real time at 30 a second. The rate limiter (bot.delivery.flood) counts
the same way, so the 429s stay at a handful; the old one, counting requests, ran into hundreds."""
from __future__ import annotations

import json
import time as _time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from db.state import migrate
from tests.faketg import ADMIN, BotHarness, FakeTelegram, fake_digest

N_PRIVATE, N_GROUPS = 200, 50
TWO = ["hanging", "new_payers"]


async def test_250_chats_with_albums_due_at_once_within_flood_limits(engine):
    schema = f"bot_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    private = list(range(10_000, 10_000 + N_PRIVATE))
    groups = [-(20_000 + i) for i in range(N_GROUPS)]
    with engine.begin() as conn:
        conn.execute(sa.text(f"""insert into "{schema}".subscriptions (chat_id, delivery_time, timezone, metrics)
            values (:c, '08:45', 'UTC', :m)"""),
            [{"c": c, "m": TWO} for c in private] + [{"c": c, "m": None} for c in groups])
    tg = await FakeTelegram(enforce_limits=True).start()
    # The bot's clock is just after the 08:45 run, whatever the wall clock says.
    h = BotHarness(tg, engine, schema, clock=lambda: datetime(2024, 3, 15, 8, 45, 30, tzinfo=UTC),
                   digest=fake_digest(n_charts=None))  # one chart per metric
    await h.start()
    try:
        chats = private + groups
        now = datetime.now(UTC)
        jobs = h.app.job_queue.jobs(r"^digest:")
        assert len(jobs) == len(chats)
        started = _time.monotonic()
        for job in jobs:  # everybody due at the same moment
            job.job.modify(next_run_time=now)
        await tg.wait_for(lambda: len(tg.sent()) >= len(chats), timeout=90, what="250 digests")
        await h.delivery.idle()
        elapsed = _time.monotonic() - started
        albums = tg.sent(method="sendMediaGroup")
        assert sorted(c.chat_id for c in tg.sent()) == sorted(chats)  # each chat exactly once...
        assert len(albums) == len(chats)                             # ...as one album
        items = {c.chat_id: len(json.loads(c.params["media"])) for c in albums}
        assert items == {**{c: 2 for c in private}, **{g: 5 for g in groups}}
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text(
                f'select state, count(*) from "{schema}".deliveries group by state')).all())
        assert states == {"sent": len(chats)}  # none failed, none waiting
        assert tg.sent(ADMIN) == []             # nothing delayed, nothing to tell
        # The rate limiter keeps the pace: no 429 storm (a handful at most, from clock skew).
        assert tg.limit_hits <= 5, tg.limit_hits
        messages = sum(items.values())
        print(f"\n{len(chats)} chats, {messages} messages: {elapsed:.1f}s "
              f"(floor {messages / 30:.1f}s), 429s: {tg.limit_hits}, digest computations: {len(h.digest.calls)}")
        # Once per distinct digest: the two-metric one and the five-metric one.
        assert sorted(len(names) for *_, names in h.digest.calls) == [2, 5]
    finally:
        await h.stop()
        await tg.close()
