"""Each command and each refusal, end to end: the real Application against the fake Bot API."""
from __future__ import annotations

import re
import uuid
from datetime import time

import pytest
import sqlalchemy as sa

from tests.faketg import ADMIN, GROUP, USER, BotHarness, fake_digest


@pytest.fixture
def schema():
    return f"bot_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def bot(tg, engine, schema):
    h = BotHarness(tg, engine, schema)
    await h.start()
    yield h
    await h.stop()


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


async def test_menu_is_set_in_english_and_russian(bot, tg):
    assert {"", "en", "ru"} <= set(tg.commands)
    names = [c["command"] for c in tg.commands["ru"]]
    assert names == ["report", "subscribe", "unsubscribe", "status", "alerts", "help", "start"]
    assert "сводка" in tg.commands["ru"][0]["description"]


async def test_start_and_help_answer_everyone_without_numbers(bot):
    (reply,) = await bot.ask(USER, USER, "/start")
    assert str(USER) in reply.text and "not subscribed" in reply.text
    (reply,) = await bot.ask(USER, USER, "/help")
    assert "/report" in reply.text and "/subscribe" in reply.text and "funnel" in reply.text


async def test_report_refused_to_a_chat_that_is_not_subscribed(bot):
    replies = await bot.ask(GROUP, USER, "/report")
    assert [c.method for c in replies] == ["sendMessage"]
    assert str(GROUP) in replies[0].text and "not allowed" in replies[0].text
    # No number but the chat id: nothing from the data leaks into a refusal.
    assert _numbers(replies[0].text) == {str(abs(GROUP))}
    assert bot.digest.calls == []


@pytest.mark.parametrize("command", ["/subscribe", "/unsubscribe", "/status"])
async def test_admin_commands_refused_to_others(bot, command):
    (reply,) = await bot.ask(GROUP, USER, command)
    assert "only SalesPulse admins" in reply.text and str(USER) in reply.text
    assert bot.store.get(GROUP) is None


async def test_subscribe_schedules_the_chat_in_its_time_zone(bot):
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 09:30 Europe/Moscow")
    assert "Subscribed" in reply.text and "09:30" in reply.text and "MSK" in reply.text
    sub = bot.store.get(GROUP)
    assert sub.active and sub.delivery_time == time(9, 30) and sub.timezone == "Europe/Moscow"
    (job,) = bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
    nxt = job.next_t.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert (nxt.hour, nxt.minute) == (9, 30)
    # Re-subscribing replaces the job instead of adding a second one.
    await bot.ask(GROUP, ADMIN, "/subscribe 07:00")
    assert len(bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")) == 1
    assert bot.store.get(GROUP).timezone == "UTC"  # default REPORT_TIMEZONE


async def test_subscribe_defaults_and_bad_input(bot):
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 25:00")
    assert "'25:00' is not a time of day" in reply.text and "HH:MM" in reply.text
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 08:00 Mars/Olympus")
    assert "'Mars/Olympus' is not a time zone" in reply.text and "Europe/Moscow" in reply.text
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 08:00 UTC UTC")
    assert "Too many arguments" in reply.text
    assert bot.store.get(GROUP) is None
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe")
    assert "08:45" in reply.text  # DEFAULT_DELIVERY_TIME


async def test_report_in_a_subscribed_chat_sends_the_digest(bot):
    await bot.ask(GROUP, ADMIN, "/subscribe")
    replies = await bot.ask(GROUP, USER, "/report 2024-03-14 funnel", replies=2)
    assert [c.method for c in replies] == ["sendMessage", "sendMediaGroup"]
    assert "2024-03-14" in replies[0].text
    assert "New payers: 3" in replies[1].text and "2024-03-14" in replies[1].text  # caption
    assert bot.digest.calls[-1][3] == ("funnel",)


async def test_report_for_an_admin_in_a_private_chat(bot):
    replies = await bot.ask(ADMIN, ADMIN, "/report yesterday", replies=2)
    assert replies[-1].method == "sendMediaGroup"


@pytest.mark.parametrize(("args", "expected"), [
    ("/report 2024-13-40", "not a calendar date"),
    ("/report someday", "unknown metric 'someday'"),
    ("/report 2999-01-01", "in the future"),
    ("/report yesterday funnel extra", "too many arguments"),
])
async def test_report_bad_input_says_what_is_wrong(bot, args, expected):
    (reply,) = await bot.ask(ADMIN, ADMIN, args)
    assert expected in reply.text
    assert bot.digest.calls == []


async def test_unsubscribe_stops_data_and_schedule(bot):
    await bot.ask(GROUP, ADMIN, "/subscribe")
    (reply,) = await bot.ask(GROUP, ADMIN, "/unsubscribe")
    assert "Unsubscribed" in reply.text
    assert not bot.store.get(GROUP).active
    assert bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}") == ()
    (reply,) = await bot.ask(GROUP, USER, "/report")
    assert "not allowed" in reply.text
    (reply,) = await bot.ask(GROUP, ADMIN, "/unsubscribe")
    assert "was not subscribed" in reply.text


async def test_status_lists_subscriptions_next_run_and_last_delivery(bot):
    (reply,) = await bot.ask(ADMIN, ADMIN, "/status")
    assert "No subscriptions" in reply.text
    await bot.ask(GROUP, ADMIN, "/subscribe 08:45 Europe/Berlin")
    (reply,) = await bot.ask(ADMIN, ADMIN, "/status")
    assert str(GROUP) in reply.text and "active" in reply.text and "08:45 Europe/Berlin" in reply.text
    assert "last never" in reply.text


async def test_russian_locale(tg, engine, schema):
    h = await BotHarness(tg, engine, schema, locale="ru").start()
    try:
        (reply,) = await h.ask(USER, USER, "/report")
        assert "недоступны" in reply.text and str(USER) in reply.text
        (reply,) = await h.ask(GROUP, ADMIN, "/subscribe 08:00 Europe/Moscow")
        assert "Подписка оформлена" in reply.text
    finally:
        await h.stop()


async def test_a_failing_handler_replies_politely_never_a_traceback(tg, engine, schema, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom: secret internals")

    h = await BotHarness(tg, engine, schema, digest=broken).start()
    try:
        replies = await h.ask(ADMIN, ADMIN, "/report", replies=2)
        assert "something went wrong" in replies[-1].text
        assert all("Traceback" not in c.text and "boom" not in c.text for c in tg.sent())
        assert "boom" in caplog.text  # ...but the logs have it
        (reply,) = await h.ask(ADMIN, ADMIN, "/help")  # and the bot keeps answering
        assert "/report" in reply.text
    finally:
        await h.stop()


async def test_database_down_during_a_command(bot, monkeypatch):
    def down(*args, **kwargs):
        raise sa.exc.OperationalError("select", {}, Exception("connection refused"))

    monkeypatch.setattr(bot.delivery.store, "get", down)
    assert "database is not reachable" in await bot.reply(GROUP, USER, "/report")
    assert "/report" in await bot.reply(GROUP, USER, "/help")


async def test_group_migration_message_moves_the_subscription(bot, tg):
    await bot.ask(GROUP, ADMIN, "/subscribe")
    new_id = -1_000_000_004_242
    tg.say_migrated(GROUP, new_id)
    # The row moves first, the job a moment later (on_migrate reads the row back), and the
    # admins are told last: wait for all three.
    await tg.wait_for(lambda: bot.store.get(new_id) is not None
                      and bot.app.job_queue.get_jobs_by_name(f"digest:{new_id}")
                      and any("supergroup" in x for x in tg.texts(ADMIN)), what="migration")
    assert bot.store.get(GROUP) is None
    assert bot.app.job_queue.get_jobs_by_name(f"digest:{new_id}")
    assert bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}") == ()


def test_fake_digest_is_cheap():
    from metrics.day import ReportDay
    from reports.request import ReportRequest

    d = fake_digest()(None, None, ReportRequest(ReportDay(__import__("datetime").date(2024, 1, 1))))
    assert len(d.charts) == 2


async def test_report_during_a_database_outage_says_the_database_is_down(tg, engine, schema):
    """Defect (issue 15): /report bypassed the database retry, so an outage read as a bug."""
    calls = []

    def down(*args, **kwargs):
        calls.append(1)
        raise sa.exc.OperationalError("select", {}, Exception("connection refused"))

    h = await BotHarness(tg, engine, schema, digest=down).start()
    try:
        replies = await h.ask(ADMIN, ADMIN, "/report 2024-03-14", replies=2)
        assert "database is not reachable" in replies[-1].text
        assert "something went wrong" not in replies[-1].text
        assert len(calls) == h.delivery.options.db_attempts  # retried like every database step
    finally:
        await h.stop()


async def test_report_edits_one_preparing_message_as_the_digest_advances(tg, engine, schema):
    import time as _time

    inner = fake_digest()

    def slow(*args, progress=None, **kwargs):
        for stage in ("sessions", "charts"):
            progress(stage)
            _time.sleep(0.5)  # longer than progress_interval (0.2 s in tests): each stage is shown
        return inner(*args, **kwargs)

    h = await BotHarness(tg, engine, schema, digest=slow).start()
    try:
        replies = await h.ask(ADMIN, ADMIN, "/report 2024-03-14", replies=2)
        assert [c.method for c in replies] == ["sendMessage", "sendMediaGroup"]  # no message per step
        await tg.wait_for(lambda: any("is ready" in c.text for c in tg.edits(ADMIN)), what="the last edit")
        edits = tg.edits(ADMIN)
        assert len({c.params["message_id"] for c in edits}) == 1  # one message, edited
        texts = [c.text for c in edits]
        assert "building sessions" in texts[0] and "2024-03-14" in texts[0]
        assert any("drawing the charts" in x for x in texts)
        assert texts[-1] == "The report for 2024-03-14 is ready:"
        assert len(edits) <= 3
    finally:
        await h.stop()


def test_every_stage_of_a_digest_has_words_in_every_language():
    """build_digest reports each metric's name as a stage; with no stage.<name> the chat sees the
    metric's title, never the code."""
    from bot.commands.progress import stage_label
    from db.i18n import t

    assert stage_label("new_payers", "ru") == t("metric.new_payers", "ru") != "new_payers"
    assert stage_label("hanging", "ru") == t("stage.hanging", "ru")  # its own stage words first
    assert stage_label("something_new", "ru") == "something_new"


async def test_fake_digest_reports_progress_through_the_cache():
    """The builder's progress comes from its worker thread and reaches listeners on the loop."""
    import asyncio
    import threading
    from datetime import date

    from bot.service import DigestCache, make_builder

    heard = []
    build = make_builder(fake_digest(), None, "public", None)
    cache = DigestCache(build, ttl=60)
    digest = await cache.get(date(2024, 3, 14), "UTC", "en", ("funnel",),
                             progress=lambda s: heard.append((s, threading.get_ident())))
    await asyncio.sleep(0)  # the last relayed call runs on the next turn of the loop
    assert digest.report_date == date(2024, 3, 14)
    assert [s for s, _ in heard] == ["sessions", "hanging", "charts"]
    assert {tid for _, tid in heard} == {threading.get_ident()}
