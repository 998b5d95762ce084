"""The inline menu under a digest and /settings, end to end against the fake Bot API: presses
are callback queries from the fake server, answered always, and never able to leave the chat's
own scope, whatever the callback data says."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.commands.buttons import menu_markup, parse_press
from db.i18n import t
from db.settings import LOCALES
from reports.registry import names

METRICS = names()
from tests.faketg import ADMIN, GROUP, USER, BotHarness, fake_digest, fast_options

NOW = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)  # yesterday is 2024-03-14


def leads_builder():
    def build(day, tz, scope):
        build.calls.append((day, tz, scope))
        return "pipeline,user_id,owner,since,age_hours\nFirst line,17,manager:ivanov,2024-03-12T09:00:00+00:00,49\n"
    build.calls = []
    return build


def harness(tg, engine, schema, **kw) -> BotHarness:
    return BotHarness(tg, engine, schema, clock=lambda: NOW, options=fast_options(digest_buttons=True),
                      leads=kw.pop("leads", None) or leads_builder(), **kw)


@pytest.fixture
async def bot(tg, engine, schema):
    h = await harness(tg, engine, schema).start()
    yield h
    await h.stop()


def keyboard(call) -> list[list[dict]]:
    return json.loads(call.params["reply_markup"])["inline_keyboard"]


def data_of(call) -> list[str]:
    return [b["callback_data"] for row in keyboard(call) for b in row]


async def press(h: BotHarness, chat_id: int, user_id: int, message_id: int, data: str, sends: int = 0,
                edits: int = 0):
    """Press a button; wait for its answer, `sends` new messages and `edits` edits in the chat."""
    tg = h.tg
    sent_before, edits_before = len(tg.sent(chat_id, ok_only=False)), len(tg.edits(chat_id))
    qid = tg.press(chat_id, user_id, message_id, data)
    await tg.wait_for(lambda: tg.answers(qid) and len(tg.sent(chat_id, ok_only=False)) >= sent_before + sends
                      and len(tg.edits(chat_id)) >= edits_before + edits, what=f"the answer to {data!r}")
    if not sends:
        await asyncio.sleep(0.3)  # anything a refusal might wrongly send would arrive by now
    (answer,) = tg.answers(qid)
    return answer, tg.sent(chat_id, ok_only=False)[sent_before:], tg.edits(chat_id)[edits_before:]


async def scoped_report(h: BotHarness, args: str = "2024-03-13"):
    await h.ask(GROUP, ADMIN, "/subscribe scope=team:north")
    replies = await h.ask(GROUP, USER, f"/report {args}", replies=3)
    assert [c.method for c in replies] == ["sendMessage", "sendMediaGroup", "sendMessage"]
    # /report's "preparing…" message gets its last edit in the background: wait for it, so the
    # presses below count only their own edits.
    ready = {t("bot.report_ready", loc, day=args) for loc in LOCALES}
    progress_id = replies[0].result["message_id"]
    await h.tg.wait_for(lambda: h.tg.messages[progress_id]["text"] in ready, what="the report's last edit")
    return replies[-1]


def test_callback_data_parse_strictly():
    assert parse_press("d:2024-03-14").kind == "digest"
    assert parse_press("d:2024-03-14:funnel").metric == "funnel"
    assert parse_press("l:2024-03-14").kind == "leads"
    for bad in ("d:2024-02-30", "d:2024-03-14:nope", "d:2024-03-14:funnel:team:north", "l:2024-03-14:funnel",
                "d:24-03-14", "d:2024-03-14 ", "x", "", None, "d:2024-03-14:scope=company"):
        assert parse_press(bad) is None, bad


def test_menu_never_offers_a_day_past_yesterday():
    markup = menu_markup(date(2024, 3, 14), date(2024, 3, 14), METRICS, "en").to_dict()["inline_keyboard"]
    assert [b["callback_data"] for b in markup[0]] == ["d:2024-03-13"]
    markup = menu_markup(date(2024, 3, 10), date(2024, 3, 14), ("funnel",), "ru").to_dict()["inline_keyboard"]
    assert [b["callback_data"] for b in markup[0]] == ["d:2024-03-09", "d:2024-03-11"]
    assert [b["text"] for b in markup[1]] == ["Воронка"] and markup[2][0]["callback_data"] == "l:2024-03-10"


async def test_report_ends_with_a_menu_in_the_chats_scope(bot):
    menu = await scoped_report(bot)
    assert "More for 2024-03-13 (team:north)" in menu.text
    assert data_of(menu) == ["d:2024-03-12", "d:2024-03-14", *(f"d:2024-03-13:{n}" for n in METRICS),
                             "l:2024-03-13"]
    assert all(len(d.encode()) <= 64 for d in data_of(menu))
    replies = await bot.ask(GROUP, USER, "/report", replies=3)
    assert "d:2024-03-15" not in data_of(replies[-1]) and "d:2024-03-13" in data_of(replies[-1])


async def test_previous_day_replaces_the_menu_and_stays_in_scope(bot, tg):
    menu = await scoped_report(bot)
    answer, sent, edits = await press(bot, GROUP, USER, menu.result["message_id"], "d:2024-03-12", sends=2, edits=1)
    assert answer.params.get("show_alert") in (None, "false", False)
    (edit,) = edits
    assert edit.method == "editMessageText" and int(edit.params["message_id"]) == menu.result["message_id"]
    assert "2024-03-12 follows below" in edit.params["text"] and not edit.params.get("reply_markup")
    assert [c.method for c in sent] == ["sendMediaGroup", "sendMessage"]
    assert "2024-03-12" in sent[0].text and "d:2024-03-11" in data_of(sent[1])
    assert bot.digest.calls[-1][0] == date(2024, 3, 12) and bot.digest.scopes == ["team:north"] * 2


async def test_metric_detail_and_stuck_leads(bot, tg):
    menu = await scoped_report(bot)
    mid = menu.result["message_id"]
    _, sent, _ = await press(bot, GROUP, USER, mid, "d:2024-03-13:funnel", sends=1)
    assert [c.method for c in sent] == ["sendMediaGroup"]
    assert bot.digest.calls[-1][3] == ("funnel",) and bot.digest.scopes[-1] == "team:north"
    _, sent, _ = await press(bot, GROUP, USER, mid, "l:2024-03-13", sends=1)
    (doc,) = sent
    assert doc.method == "sendDocument" and doc.files["document"] > 0
    assert "team:north" in doc.params["caption"] and "2024-03-13" in doc.params["caption"]
    assert bot.app.bot_data.leads.calls == [(date(2024, 3, 13), "UTC", "team:north")]


@pytest.mark.parametrize("data", ["d:2024-03-13:funnel:team:south", "d:2024-03-16", "d:2024-02-30",
                                  "l:2024-03-13:team:south", "d:2024-03-13:scope=*", "zzz", "s:nonsense"])
async def test_crafted_callback_data_is_answered_and_refused(bot, tg, data):
    menu = await scoped_report(bot)
    builds = len(bot.digest.calls)
    answer, sent, edits = await press(bot, GROUP, ADMIN if data.startswith("s:") else USER,
                                      menu.result["message_id"], data)
    assert answer.params.get("show_alert") in ("true", True) and "no longer valid" in answer.params["text"]
    assert sent == [] and edits == [] and len(bot.digest.calls) == builds
    assert bot.app.bot_data.leads.calls == []


async def test_a_chat_that_is_not_subscribed_gets_no_data_from_a_button(bot, tg):
    answer, sent, _ = await press(bot, USER, USER, 99, "d:2024-03-13")
    assert "not allowed" in answer.params["text"] and sent == [] and bot.digest.calls == []


async def test_buttons_work_after_a_restart(tg, engine, schema):
    h = await harness(tg, engine, schema).start()
    try:
        menu = await scoped_report(h)
    finally:
        await h.stop()
    h = await harness(tg, engine, schema).start()  # a new process: nothing in memory survives
    try:
        _, sent, edits = await press(h, GROUP, USER, menu.result["message_id"], "d:2024-03-14", sends=2, edits=1)
        assert [c.method for c in sent] == ["sendMediaGroup", "sendMessage"]
        assert edits[0].method == "editMessageText"
        assert h.digest.calls == [(date(2024, 3, 14), "UTC", "en", METRICS)]
        assert h.digest.scopes == ["team:north"]
    finally:
        await h.stop()


async def test_settings_are_for_admins_of_subscribed_chats(bot):
    assert "only SalesPulse admins" in await bot.reply(GROUP, USER, "/settings")
    assert "not subscribed" in await bot.reply(GROUP, ADMIN, "/settings")


async def test_settings_change_the_time_and_the_job_is_rescheduled(bot, tg):
    await bot.ask(GROUP, ADMIN, "/subscribe 08:45")
    (menu,) = await bot.ask(GROUP, ADMIN, "/settings")
    assert "time 08:45 (UTC)" in menu.text and "s:time" in data_of(menu)
    mid = menu.result["message_id"]
    await press(bot, GROUP, ADMIN, mid, "s:time", edits=1)
    assert any("s:time=0930" in json.dumps(tg.messages[mid]["reply_markup"]) for _ in [0])
    # A plain member cannot press an admin's settings, and a value we never offered is refused.
    answer, _, edits = await press(bot, GROUP, USER, mid, "s:time=0700")
    assert "Only SalesPulse admins" in answer.params["text"] and edits == []
    answer, _, _ = await press(bot, GROUP, ADMIN, mid, "s:time=0931")
    assert "no longer valid" in answer.params["text"]
    assert bot.store.get(GROUP).delivery_time == time(8, 45)

    await press(bot, GROUP, ADMIN, mid, "s:time=0930", edits=1)
    assert bot.store.get(GROUP).delivery_time == time(9, 30)
    (job,) = bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
    assert job.next_t.astimezone(UTC).time() == time(9, 30)
    assert "Saved" in tg.messages[mid]["text"] and "time 09:30 (UTC)" in tg.messages[mid]["text"]

    await press(bot, GROUP, ADMIN, mid, "s:tz=Europe/Moscow", edits=1)
    (job,) = bot.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
    local = job.next_t.astimezone(ZoneInfo("Europe/Moscow"))
    assert (local.hour, local.minute) == (9, 30) and bot.store.get(GROUP).timezone == "Europe/Moscow"


async def test_settings_language_scope_and_metrics(bot, tg):
    await bot.ask(GROUP, ADMIN, "/subscribe")
    (menu,) = await bot.ask(GROUP, ADMIN, "/settings")
    mid = menu.result["message_id"]
    await press(bot, GROUP, ADMIN, mid, "s:lang=ru", edits=1)
    assert bot.store.get(GROUP).locale == "ru" and "Сохранено" in tg.messages[mid]["text"]
    await press(bot, GROUP, ADMIN, mid, "s:scope=team:north", edits=1)
    assert bot.store.get(GROUP).scope == "team:north"
    await press(bot, GROUP, ADMIN, mid, "s:scope", edits=1)
    scope_buttons = json.dumps(tg.messages[mid]["reply_markup"])
    assert "s:scope=*" in scope_buttons and "s:scope=team:north" in scope_buttons
    for name in ("funnel", "campaigns"):
        await press(bot, GROUP, ADMIN, mid, f"s:m={name}", edits=1)
    assert bot.store.get(GROUP).metrics == ("hanging", "new_payers", "attribution")
    await bot.ask(GROUP, USER, "/report", replies=3)
    assert bot.digest.calls[-1][3] == ("hanging", "new_payers", "attribution")
    assert bot.digest.scopes[-1] == "team:north"
    for name in ("hanging", "new_payers"):
        await press(bot, GROUP, ADMIN, mid, f"s:m={name}", edits=1)
    answer, _, _ = await press(bot, GROUP, ADMIN, mid, "s:m=attribution")
    assert "хотя бы одна" in answer.params["text"].lower()
    assert bot.store.get(GROUP).metrics == ("attribution",)
    await press(bot, GROUP, ADMIN, mid, "s:scope=*", edits=1)
    assert bot.store.get(GROUP).scope is None
    await press(bot, GROUP, ADMIN, mid, "s:done", edits=1)
    assert tg.messages[mid]["reply_markup"] is None


async def test_leads_unavailable_says_so(tg, engine, schema):
    def nothing(day, tz, scope):
        return None

    h = await harness(tg, engine, schema, leads=nothing).start()
    try:
        menu = await scoped_report(h)
        _, sent, _ = await press(h, GROUP, USER, menu.result["message_id"], "l:2024-03-13", sends=1)
        assert "not available" in sent[0].text
    finally:
        await h.stop()


def test_fake_digest_records_the_scope():
    from metrics.day import ReportDay
    from reports.request import report_request

    build = fake_digest()
    day = ReportDay(date(2024, 1, 1))
    build(None, None, report_request(day))
    build(None, None, report_request(day, scope="team:north"))
    assert build.scopes == [None, "team:north"]
