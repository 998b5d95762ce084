"""Issue 16: a digest due during an outage is still delivered, once, within the grace period.

The bot's engine goes through tests/dbproxy.py, so "the database" can be stopped and started
without touching the Postgres other test runs share; Telegram is the fake server. The clock is
real (the daily jobs fire at real times), the waits are shrunk through BotOptions, and no test
asserts a duration: each waits for a state, then counts.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.delivery.ledger import report_day
from tests.faketg import ADMIN, BotHarness, fast_options, more_runs

GROUPS = (-101, -102, -103)


def subscribe_at(engine, schema: str, chats, due: datetime) -> None:
    """Subscriptions made a minute before, due at `due` (UTC, to the second)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"""insert into "{schema}".subscriptions
            (chat_id, delivery_time, timezone, created_at) values (:c, :t, 'UTC', :made)"""),
            [{"c": c, "t": due.time(), "made": due - timedelta(minutes=1)} for c in chats])


async def subscribe_running(h: BotHarness, engine, schema: str, chats) -> datetime:
    """Subscribe `chats` to a run 3 s from now in the running bot, as /subscribe would."""
    from bot.schedule import schedule_chat
    from bot.subscriptions import Store

    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    subscribe_at(engine, schema, chats, due)
    for c in chats:
        schedule_chat(h.app, Store(engine, schema).get(c))
    return due


def rows(engine, schema: str, chat: int | None = None) -> list[dict]:
    where = "" if chat is None else f"where chat_id = {int(chat)}"
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            f'select * from "{schema}".deliveries {where} order by id'))]


def log_of(engine, schema: str, chat: int) -> list[tuple[str | None, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f'select from_state, to_state from "{schema}".delivery_log where chat_id = :c order by id'),
            {"c": chat})]


def admin_texts(tg, word: str) -> list[str]:
    return [t for t in tg.texts(ADMIN) if word in t]


def harness(tg, bot_engine, schema, grace_hours: float = 1.0, **options) -> BotHarness:
    return BotHarness(tg, bot_engine, schema, options=fast_options(**options),
                      delivery_grace_hours=grace_hours)


async def settle(h: BotHarness, n: int = 5) -> None:
    """Wait for `n` more sweeps of the delivery sweeper."""
    await more_runs(lambda: h.app.bot_data.sweeper.sweeps, n, "the sweeper")


async def back_up(tg, proxy, h: BotHarness) -> None:
    """Down a little longer (nothing goes out), then the database returns: wait for every group's
    digest and the last sends, with sweeps enough for a double delivery to have happened."""
    await settle(h, 2)  # failed sweeps: still nothing goes out
    assert all(tg.sent(g) == [] for g in GROUPS)
    proxy.up()
    await tg.wait_for(lambda: all(tg.sent(g) for g in GROUPS), timeout=30, what="three digests")
    await settle(h)
    await h.delivery.idle()


async def test_database_down_across_the_due_time_back_within_grace(tg, engine, bot_engine, proxy, schema):
    h = await harness(tg, bot_engine, schema).start()
    try:
        due = await subscribe_running(h, engine, schema, GROUPS)
        proxy.down()
        # The daily jobs fire into a dead database: the admins hear once that it is delayed.
        await tg.wait_for(lambda: admin_texts(tg, "delayed"), timeout=20, what="the delayed notice")
        delayed = admin_texts(tg, "delayed")[0]
        day = report_day(due, "UTC")
        assert delayed.startswith(f"SalesPulse: the digest for {day:%Y-%m-%d} to chat")
        assert any(str(g) in delayed for g in GROUPS)  # the first chat found delayed, at least
        await back_up(tg, proxy, h)
        for g in GROUPS:
            assert len(tg.sent(g)) == 1, g  # one album each, exactly once
            assert [(r["report_date"], r["state"]) for r in rows(engine, schema, g)] == [(day, "sent")]
        assert len(admin_texts(tg, "delayed")) == 1
        assert admin_texts(tg, "will not be retried") == []
        assert proxy.refused > 0  # the outage was real: connections were refused
    finally:
        proxy.up()
        await h.stop()


async def test_database_back_after_grace_no_digest_and_one_admin_message(tg, engine, bot_engine, proxy, schema):
    h = await harness(tg, bot_engine, schema, grace_hours=2 / 3600).start()  # 2 s of grace
    try:
        due = await subscribe_running(h, engine, schema, GROUPS)
        proxy.down()
        await tg.wait_for(lambda: admin_texts(tg, "delayed"), timeout=20, what="the delayed notice")
        while datetime.now(UTC) <= due + timedelta(seconds=3):
            await asyncio.sleep(0.2)
        proxy.up()
        await tg.wait_for(lambda: admin_texts(tg, "will not be retried"), timeout=20, what="the final notice")
        await settle(h)
        (final,) = admin_texts(tg, "will not be retried")
        assert "database" in final and all(str(g) in final for g in GROUPS) and "since" in final
        assert len(admin_texts(tg, "delayed")) == 1
        assert all(tg.sent(g) == [] for g in GROUPS)
        for g in GROUPS:
            (r,) = rows(engine, schema, g)
            assert r["state"] == "skipped" and "database unreachable since" in r["error"]
    finally:
        proxy.up()
        await h.stop()


async def test_telegram_unreachable_longer_than_the_part_retries_is_delivered_later(tg, engine, bot_engine, schema):
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    subscribe_at(engine, schema, [GROUPS[0]], due)
    g = GROUPS[0]
    tg.fault("sendMediaGroup", "hang", chat_id=g)           # a timeout (read_timeout 2 s)...
    tg.fault("sendMediaGroup", "500", chat_id=g, times=2)   # ...then 5xx: all 3 part attempts fail
    h = await harness(tg, bot_engine, schema).start()
    try:
        await tg.wait_for(lambda: tg.sent(g), timeout=30, what="the delivery after the outage")
        await settle(h)
        await h.delivery.idle()
        assert len(tg.sent(g)) == 1 and len(tg.sent(g, ok_only=False)) == 4
        (r,) = rows(engine, schema, g)
        assert (r["state"], r["attempts"], r["error"]) == ("sent", 2, None)
        assert "Internal Server Error" in r["last_error"]
        assert log_of(engine, schema, g) == [(None, "working"), ("working", "waiting"),
                                              ("waiting", "working"), ("working", "sent")]
        (told,) = admin_texts(tg, "delayed")
        assert str(g) in told and "telegram" in told
    finally:
        tg.release()
        await h.stop()


async def test_restart_during_the_outage_delivers_once(tg, engine, bot_engine, proxy, schema):
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    subscribe_at(engine, schema, GROUPS, due)
    for g in GROUPS:
        tg.fault("sendMediaGroup", "500", chat_id=g, times=3)  # the first attempt fails
    h1 = await harness(tg, bot_engine, schema, retry_waits=(3.0,)).start()
    await tg.wait_for(lambda: all(r["state"] == "waiting" for r in rows(engine, schema)) and
                      len(rows(engine, schema)) == 3, timeout=20, what="three waiting deliveries")
    await tg.wait_for(lambda: admin_texts(tg, "delayed"), what="the delayed notice")
    proxy.down()
    await h1.stop()
    h2 = await harness(tg, bot_engine, schema).start()  # started while the database is down
    try:
        await back_up(tg, proxy, h2)
        for g in GROUPS:
            assert len(tg.sent(g)) == 1
            (r,) = rows(engine, schema, g)
            assert r["state"] == "sent" and r["attempts"] == 2
        assert len(admin_texts(tg, "delayed")) == 1  # the restart did not tell the admins again
    finally:
        proxy.up()
        await h2.stop()


async def test_status_shows_the_delayed_delivery(tg, engine, bot_engine, schema):
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    g = GROUPS[0]
    subscribe_at(engine, schema, [g], due)
    tg.fault("sendMediaGroup", "500", chat_id=g, times=3)
    h = await harness(tg, bot_engine, schema, retry_waits=(600.0,)).start()
    try:
        await tg.wait_for(lambda: rows(engine, schema, g) and rows(engine, schema, g)[0]["state"] == "waiting")
        (r,) = rows(engine, schema, g)
        # The admins' "delayed" notice goes to the same private chat: let it arrive first, so
        # the reply read below is /status's own.
        await tg.wait_for(lambda: admin_texts(tg, "delayed"), what="the delayed notice")
        replies = await h.ask(ADMIN, ADMIN, "/status", replies=1)
        text = replies[0].text
        assert f"{r['report_date']:%Y-%m-%d}: delayed" in text
        assert f"next attempt {r['next_attempt_at'].astimezone(UTC):%Y-%m-%d %H:%M}" in text
        assert "last error: telegram: Internal Server Error" in text
    finally:
        await h.stop()


def crash_first(monkeypatch, errors: dict[int, Exception]) -> None:
    """The first request of each chat in `errors` raises it: a bug on the way to Telegram, such
    as issue 28's AttributeError on a 429's retry_after."""
    import bot.delivery.parts

    real, pending = bot.delivery.parts.request, dict(errors)

    async def request(tg_bot, chat_id, part, digest):
        if chat_id in pending:
            raise pending.pop(chat_id)
        return await real(tg_bot, chat_id, part, digest)

    monkeypatch.setattr(bot.delivery.parts, "request", request)


BUG = "'int' object has no attribute 'total_seconds'"


async def test_an_unexpected_error_in_a_part_is_retried_and_told_once_per_kind(
        tg, engine, bot_engine, schema, monkeypatch):
    crash_first(monkeypatch, {GROUPS[0]: AttributeError(BUG), GROUPS[1]: AttributeError(BUG),
                              GROUPS[2]: KeyError("chart")})
    subscribe_at(engine, schema, GROUPS, (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0))
    h = await harness(tg, bot_engine, schema).start()
    try:
        await tg.wait_for(lambda: all(tg.sent(g) for g in GROUPS), timeout=30, what="three digests")
        await settle(h)
        await h.delivery.idle()
        for g in GROUPS:
            assert len(tg.sent(g)) == 1, g  # the album, once: the crash came before the request
            (r,) = rows(engine, schema, g)
            assert (r["state"], r["attempts"], r["error"]) == ("sent", 2, None)
            assert log_of(engine, schema, g) == [(None, "working"), ("working", "waiting"),
                                                  ("waiting", "working"), ("working", "sent")]
        assert rows(engine, schema, GROUPS[0])[0]["last_error"] == f"AttributeError sending the album: {BUG}"
        assert rows(engine, schema, GROUPS[2])[0]["last_error"] == "KeyError sending the album: 'chart'"
        # Once per kind: two chats hit the AttributeError, one the KeyError.
        told = admin_texts(tg, "unexpected error")
        assert len(told) == 2, told
        assert sum(BUG in t for t in told) == 1 and sum("KeyError" in t for t in told) == 1
        assert all("It is not final" in t for t in told)
        assert admin_texts(tg, "could not be delivered") == [] and admin_texts(tg, "delayed") == []
    finally:
        await h.stop()


async def test_an_unexpected_error_past_the_grace_period_is_given_up_with_its_kind(
        tg, engine, bot_engine, schema, monkeypatch):
    g = GROUPS[0]
    crash_first(monkeypatch, {g: AttributeError(BUG)})
    subscribe_at(engine, schema, [g], (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0))
    # The first retry would fall after the grace period: given up at once, the admins told why.
    h = await harness(tg, bot_engine, schema, retry_waits=(6 * 3600,)).start()
    try:
        await tg.wait_for(lambda: admin_texts(tg, "will not be retried"), what="the final notice")
        await h.delivery.idle()
        (r,) = rows(engine, schema, g)
        assert r["state"] == "failed" and r["error"].startswith(f"AttributeError sending the album: {BUG}")
        assert "grace period" in r["error"]
        (told,) = admin_texts(tg, "will not be retried")
        assert BUG in told and str(g) in told
        assert tg.sent(g) == []
    finally:
        await h.stop()
