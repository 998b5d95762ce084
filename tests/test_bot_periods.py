"""The week and the month in review through the delivery ledger (issue 26, docs/plan.md):
exactly one weekly digest per chat and week, through a kill mid-delivery and restarts, beside the
daily digest of the same chat and day; the commands that manage them. The real Application
against the fake Bot API server and a real Postgres; the bot's clock is moved by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from bot.delivery.ledger import Action, Sub, plan
from bot.delivery.periods import last_run, next_run
from reports.digest import Chart, Digest
from tests.faketg import ADMIN, GROUP, PNG, USER, BotHarness, Clock, more_runs

MONDAY = datetime(2024, 3, 18, 9, 0, 10, tzinfo=UTC)  # the weekly run at 09:00 reviews 11-17 March
LONG = "\n".join(f"line {i}: " + "x" * 60 for i in range(30))  # > 1024: the text, then the album


def builder():
    """A digest builder that costs nothing and says which period it is; records each request."""
    def build(engine, cfg, req, progress=None, **_):
        build.calls.append((req.period, req.day.day))
        head = f"Week in review to {req.day.day}" if req.period == "week" else f"Daily {req.day.day}"
        return Digest(req.day.day, req.day.timezone, req.locale, {}, text=head + "\n" + LONG,
                      charts=[Chart("c0", PNG), Chart("c1", PNG)])

    build.calls = []
    return build


def long_ago(h: BotHarness, chat_id: int) -> None:
    with h.engine.begin() as conn:
        for table in ("subscriptions", "subscription_periods"):
            conn.execute(sa.text(f'update "{h.schema}".{table} set created_at = :t where chat_id = :c'),
                         {"t": datetime(2024, 1, 1, tzinfo=UTC), "c": chat_id})


def sent(h: BotHarness, period: str) -> list[tuple[date, str]]:
    return [(r["report_date"], r["state"]) for r in h.ledger(GROUP) if r["period"] == period]


def weekly_texts(tg) -> list[str]:
    return [c.text.splitlines()[0] for c in tg.sent(GROUP, "sendMessage") if c.text.startswith("Week")]


async def test_one_weekly_digest_per_week_through_a_kill_and_restarts(tg, engine, schema):
    clock, build = Clock(MONDAY), builder()

    def harness() -> BotHarness:
        return BotHarness(tg, engine, schema, clock=clock, digest=build)

    h1 = harness()
    h1.store.subscribe(GROUP, None, time(10, 0), "UTC", None, ADMIN)   # daily at 10:00
    h1.store.set_period(GROUP, "week", time(9, 0))                     # weekly, Mondays at 09:00
    long_ago(h1, GROUP)
    tg.fault("sendMediaGroup", "hang", chat_id=GROUP)  # the weekly's album (part 2 of 2) hangs
    await h1.start()
    await tg.wait_for(lambda: tg.sent(GROUP, "sendMediaGroup", ok_only=False), what="the hanging album")
    (row,) = [r for r in h1.ledger(GROUP) if r["period"] == "week"]
    assert (row["report_date"], row["state"], row["parts_sent"]) == (date(2024, 3, 17), "working", 1)
    await h1.stop()  # the kill: the delivery is cancelled mid-request
    tg.release()

    h2 = await harness().start()  # the restart resumes the weekly after its text
    try:
        await tg.wait_for(lambda: sent(h2, "week") == [(date(2024, 3, 17), "sent")], what="the resumed weekly")
        (row,) = [r for r in h2.ledger(GROUP) if r["period"] == "week"]
        assert (row["parts_sent"], row["resumed"]) == (2, 1)
        clock.now = MONDAY.replace(hour=10)  # the daily digest of Sunday 17 March: the same day, its own slot
        await tg.wait_for(lambda: sent(h2, "day")[-1:] == [(date(2024, 3, 17), "sent")], what="the daily")
        await more_runs(lambda: h2.app.bot_data.sweeper.sweeps, 3, "sweeps")
    finally:
        await h2.stop()
    clock.now = MONDAY + timedelta(days=1)  # Tuesday: a restart owes nothing for the week
    h3 = await harness().start()
    try:
        await more_runs(lambda: h3.app.bot_data.sweeper.sweeps, 3, "sweeps")
        assert sent(h3, "week") == [(date(2024, 3, 17), "sent")]
        clock.now = MONDAY + timedelta(days=7)  # the next Monday: the next week, once
        await tg.wait_for(lambda: len(sent(h3, "week")) == 2, what="the second weekly")
        await h3.delivery.idle()
        await more_runs(lambda: h3.app.bot_data.sweeper.sweeps, 3, "sweeps")
    finally:
        await h3.stop()
    assert sent(h3, "week") == [(date(2024, 3, 17), "sent"), (date(2024, 3, 24), "sent")]
    assert weekly_texts(tg) == ["Week in review to 2024-03-17", "Week in review to 2024-03-24"]
    assert len(tg.sent(GROUP, "sendMediaGroup")) == 3  # two weekly albums and the daily's, each once
    # computed by the killed process and again by the one that resumed it, then once for the next week
    assert [c for c in build.calls if c[0] == "week"] == [("week", date(2024, 3, 17))] * 2 + [("week", date(2024, 3, 24))]
    assert ("day", date(2024, 3, 17)) in build.calls


def test_runs_of_the_week_and_the_month():
    at = time(9, 0)
    assert last_run("week", at, "UTC", MONDAY) == datetime(2024, 3, 18, 9, 0, tzinfo=UTC)
    assert last_run("week", at, "UTC", MONDAY - timedelta(seconds=20)) == datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
    assert last_run("month", at, "Europe/Moscow", MONDAY) == datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    assert next_run("month", at, "UTC", MONDAY) == datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
    subs = [Sub(GROUP, time(8, 45), "UTC", None, datetime(2024, 1, 1, tzinfo=UTC)),
            Sub(GROUP, at, "UTC", None, datetime(2024, 1, 1, tzinfo=UTC), "week"),
            Sub(GROUP, at, "UTC", None, datetime(2024, 1, 1, tzinfo=UTC), "month"),
            Sub(USER, at, "UTC", None, datetime(2024, 3, 18, 9, 30, tzinfo=UTC), "week")]  # added after the run
    due = plan(subs, [], MONDAY, timedelta(hours=4))
    assert [(d.action, d.period, d.day) for d in due] == [
        (Action.SKIP, "month", date(2024, 2, 29)),  # the 1st was 17 days ago: long past the grace
        (Action.DELIVER, "day", date(2024, 3, 17)),
        (Action.DELIVER, "week", date(2024, 3, 17)),  # the same day as the daily digest, a slot of its own
    ]


async def test_subscribe_weekly_report_week_and_unsubscribe(tg, engine, schema):
    clock, build = Clock(MONDAY + timedelta(days=2)), builder()  # Wednesday 20 March
    async with BotHarness(tg, engine, schema, clock=clock, digest=build) as h:
        reply = await h.reply(GROUP, ADMIN, "/subscribe 09:30 Europe/Moscow weekly")
        assert reply == ("Subscribed: the week in review (Monday to Sunday) comes here every Monday at 09:30 "
                         "(Europe/Moscow). Next: 2024-03-25 09:30 MSK.")
        sub = h.store.get(GROUP)
        assert (sub.active, sub.daily, sub.timezone) == (True, False, "Europe/Moscow")  # no daily digest
        assert [(p.period, p.delivery_time) for p in h.store.periods(GROUP)] == [("week", time(9, 30))]
        assert h.app.job_queue.get_jobs_by_name(f"digest:{GROUP}") == ()
        await h.ask(GROUP, ADMIN, "/report week", replies=3)  # "computing…", the text, the album
        assert build.calls[-1] == ("week", date(2024, 3, 17))
        assert (await h.reply(GROUP, ADMIN, "/report week 2024-03-20")).startswith("The week ")
        await h.ask(GROUP, ADMIN, "/report month 2024-02-10", replies=3)
        assert build.calls[-1] == ("month", date(2024, 2, 29))
        assert await h.reply(GROUP, ADMIN, "/unsubscribe weekly") == "No more weeks in review in this chat."
        assert not h.store.get(GROUP).active  # it was the chat's only digest
        assert (await h.reply(USER, USER, "/subscribe weekly")).startswith("Sorry, only SalesPulse admins")
