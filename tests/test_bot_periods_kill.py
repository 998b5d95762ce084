"""Issue 26's test of done, as a real process: a chat subscribed to the week in review gets the
last week's digest exactly once though `salespulse run` is killed (SIGKILL) while sending it and
started again twice. The real review against a real Postgres, the fake Bot API server.

Placed relative to the wall clock: the subscription is months old and DELIVERY_GRACE_HOURS is
eight days, so whatever day the test runs on, the last Monday's run is due and not yet late; the
payments lie in the last complete week, so its review has numbers. Nothing is asserted about time.
"""
import uuid
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from bot.delivery.periods import last_run
from bot.subscriptions import Store
from db.state import migrate
from metrics.periods import containing
from tests.botproc import start_bot, until
from tests.faketg import TOKEN, FakeTelegram

ADMIN, GROUP = 42, -4343


async def test_one_weekly_digest_through_a_hard_kill_and_restarts(source, engine, database_url, tmp_path):
    # the week the bot owes: the one before its last Monday run at 00:05 (as its sweep computes it)
    week = containing("week", last_run("week", time(0, 5), "UTC", datetime.now(UTC)).date() - timedelta(days=1))
    source.payments(*[(u, datetime.combine(week.start + timedelta(days=u % 7), time(12), UTC), 1000 * u)
                      for u in range(1, 8)])
    schema = f"wk_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    store = Store(engine, schema)
    store.subscribe(GROUP, "sales", time(0, 5), "UTC", "en", ADMIN, daily=False)
    store.set_period(GROUP, "week", time(0, 5))
    with engine.begin() as conn:
        conn.execute(sa.text(f'update "{schema}".subscription_periods set created_at = :t'),
                     {"t": datetime(2000, 1, 1, tzinfo=UTC)})
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_USER_IDS": str(ADMIN),
           "STATE_SCHEMA": schema, "SOURCE_SCHEMA": source.schema, "DELIVERY_GRACE_HOURS": "200",
           "REPORT_TIMEZONE": "UTC", "LOG_LEVEL": "INFO"}
    tg = await FakeTelegram().start()
    env["TELEGRAM_API_BASE_URL"] = tg.base_url
    log = tmp_path / "bot.log"
    head = f"SalesPulse · week {week.start:%b} {week.start.day}"

    def reviews():
        return [c.text for c in tg.sent(GROUP, "sendMessage") if c.text.startswith("SalesPulse · week")]

    def statuses() -> int:
        return len([c for c in tg.sent(ADMIN) if c.text.startswith("Subscriptions")])

    def state() -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                f'select period, report_date, state from "{schema}".deliveries order by id'))]

    tg.fault("sendMessage", "hang", chat_id=GROUP)  # the review's one message never gets its answer
    proc = await start_bot(env, log)
    try:
        await until(lambda: tg.sent(GROUP, "sendMessage", ok_only=False), "the review being sent")
        assert state() == [("week", week.end, "working")]
    finally:
        proc.kill()  # SIGKILL mid-request: no shutdown code runs
        await proc.wait()
    tg.release()
    for _ in range(2):  # the restart sends it; the one after that owes nothing
        proc = await start_bot(env, log)
        try:
            await until(lambda: state() == [("week", week.end, "sent")], "the review delivered")
            asked = statuses() + 1
            tg.say(ADMIN, ADMIN, "/status")  # answered after the start's sweep planned what was due
            await until(lambda asked=asked: statuses() >= asked, "the /status answer")
        finally:
            proc.terminate()
            await proc.wait()
    await tg.close()
    (text,) = reviews()  # exactly one, through the kill and two restarts
    assert text.startswith(head) and "Revenue 28,000" in text
    (status,) = [c.text for c in tg.sent(ADMIN) if c.text.startswith("Subscriptions")][-1:]
    assert "weekly: Mondays at 00:05" in status and f"week to {week.end:%Y-%m-%d}: sent" in status
    text = log.read_text()
    assert "Traceback" not in text and TOKEN not in text
