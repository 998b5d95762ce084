"""Alert rules end to end: the real Application against the fake Bot API and real Postgres.

The bot's clock is a settable one (never the wall clock): the alert job runs every 0.2 s of real
time, and each test moves the bot's "now" to make the condition hold or clear. Data: two second-
line processes (SLA 24 h), user 1 open from 03-10 10:00 to 03-12 14:00, user 2 from 03-11 12:00 to
03-12 13:00. Hanging at 11:00 on 03-12: user 1 only (1); at 12:00: both (2); at 13:30: user 1 (1);
at 14:30: none (0).
"""
from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.faketg import ADMIN, GROUP, USER, BotHarness, Clock, fast_options, more_runs

S2, E2 = "Назначена задача на вторую линию", "Дозвон 2Л"
DAY = date(2024, 3, 12)


def at(h: int, m: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)


@pytest.fixture
def data(source):
    source.events((1, S2, at(10, day=date(2024, 3, 10))), (1, E2, at(14)),
                  (2, S2, at(12, day=date(2024, 3, 11))), (2, E2, at(13)))
    return source


def harness(tg, engine, schema, source, clock, **kw) -> BotHarness:
    return BotHarness(tg, engine, schema, clock=clock, source_schema=source.schema,
                      options=fast_options(alert_interval=0.2, alert_first=0.1), **kw)


def alerts_in(tg, chat_id: int, word: str | None = None) -> list:
    """The alert messages (firing ⚠️ and resolved ✅) sent to the chat, or those with `word`."""
    return [c for c in tg.sent(chat_id, "sendMessage")
            if (word in c.text if word else c.text.startswith(("⚠️", "✅")))]


def rule_rows(engine, schema) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(f'select * from "{schema}".alert_rules order by id'))]


async def added(h: BotHarness, text: str, chat_id: int = GROUP) -> object:
    """The one reply to `/alert ...` typed by the admin. A rule that holds at once may fire before
    the reply is read back, so alert messages do not count as replies."""
    def replies():
        return [c for c in h.tg.sent(chat_id, ok_only=False)[before:] if not c.text.startswith(("⚠️", "✅"))]

    before = len(h.tg.sent(chat_id, ok_only=False))
    h.tg.say(chat_id, ADMIN, text)
    await h.tg.wait_for(replies, what=f"the reply to {text!r}")
    (reply,) = replies()
    return reply


async def ticks(h: BotHarness, n: int = 3) -> None:
    """Wait until the alert job has run `n` more complete checks."""
    await more_runs(lambda: h.app.bot_data.alerts.ticks, n, "the alert job")


async def test_a_hanging_rule_fires_once_survives_a_restart_and_resolves(tg, engine, schema, data):
    clock = Clock(at(12))
    async with harness(tg, engine, schema, data, clock) as h:
        reply = await added(h, "/alert hanging > 1")
        assert reply.text.startswith("Alert #1 added: hanging > 1. Checked every ")
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "⚠️"), what="the firing alert")
        await ticks(h)
        (fired,) = alerts_in(tg, GROUP, "⚠️")
        assert fired.text == "⚠️ Alert #1: hanging > 1. Now 2."
        buttons = [b["callback_data"] for b in tg.messages[fired.result["message_id"]]["reply_markup"]["inline_keyboard"][0]]
        assert buttons == ["al:1:h", "al:1:t", "al:1:m"]
        (listed,) = await h.ask(GROUP, USER, "/alerts")  # not an admin, but the group... is not subscribed
        assert "allowed" in listed.text  # a plain user in an unsubscribed chat sees no values
        (listed,) = await h.ask(GROUP, ADMIN, "/alerts")
        assert listed.text == "Alert rules of this chat:\n#1 hanging > 1 — firing; last value 2"
        registry = h.app.bot_data.telemetry.registry
    # /metrics counted every evaluation this run logged, each with the rule firing after it.
    with engine.connect() as conn:
        logged = conn.execute(sa.text(f"""select to_state, count(*) from "{schema}".alert_log
            where kind = 'evaluation' group by to_state""")).all()
    (firing,) = [n for state, n in logged if state == "firing"]
    assert logged == [("firing", firing)] and firing >= 3  # the ticks waited for after the firing one
    assert registry.get_sample_value("salespulse_alert_evaluations_total", {"state": "firing"}) == firing
    assert registry.get_sample_value("salespulse_alert_evaluations_total", {"state": "ok"}) == 0
    # The restart: the same condition, no second message.
    async with harness(tg, engine, schema, data, clock) as h:
        await ticks(h)
        assert len(alerts_in(tg, GROUP)) == 1
        clock.now = at(13, 30)
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "✅"), what="the resolved message")
        await ticks(h)
        assert [c.text for c in alerts_in(tg, GROUP)] == ["⚠️ Alert #1: hanging > 1. Now 2.",
                                                          "✅ Resolved, alert #1: hanging > 1. Now 1."]
        (status,) = await h.ask(ADMIN, ADMIN, "/status")
        assert "Alert rules:\n   #1 chat -4242 hanging > 1 — ok; last value 1; checked 2024-03-12 13:30 UTC" in status.text
        (gone,) = await h.ask(GROUP, ADMIN, "/alert off 1")
        assert gone.text == "Alert #1 removed."
        (empty,) = await h.ask(GROUP, ADMIN, "/alerts")
        assert empty.text.startswith("No alert rules in this chat.")
    with engine.connect() as conn:
        moves = [tuple(r) for r in conn.execute(sa.text(
            f"""select from_state, to_state from "{schema}".alert_log where kind = 'transition' order by id"""))]
        sent = [tuple(r) for r in conn.execute(sa.text(
            f'select seq, kind, state from "{schema}".alert_notices order by id'))]
    assert moves == [(None, "firing"), ("firing", "ok")]
    assert sent == [(1, "firing", "sent"), (2, "resolved", "sent")]


async def test_killed_while_sending_the_alert_sends_it_once_after_restart(tg, engine, schema, data):
    clock = Clock(at(11))  # one process hangs: the rule is ok
    async with harness(tg, engine, schema, data, clock) as h:
        await h.ask(GROUP, ADMIN, "/alert hanging > 1")
        await ticks(h, 2)
        assert rule_rows(engine, schema)[0]["state"] == "ok" and alerts_in(tg, GROUP) == []
        tg.fault("sendMessage", "hang", chat_id=GROUP)
        clock.now = at(12)
        await tg.wait_for(lambda: tg.sent(GROUP, "sendMessage", ok_only=False)[-1].status == 0,
                          what="the alert request in flight")
    # The bot stopped with the request still in flight (killed): the notice stays pending.
    with engine.connect() as conn:
        assert conn.execute(sa.text(f'select state, attempts from "{schema}".alert_notices')).one() == ("pending", 1)
    tg.release()
    async with harness(tg, engine, schema, data, clock) as h:
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "⚠️"), what="the alert after the restart")
        await ticks(h)
        assert len(alerts_in(tg, GROUP, "⚠️")) == 1
        assert rule_rows(engine, schema)[0]["state"] == "firing"


async def test_snooze_button_edits_the_message_and_holds_back_the_next_message(tg, engine, schema, data):
    clock = Clock(at(12))
    async with harness(tg, engine, schema, data, clock) as h:
        await h.ask(GROUP, ADMIN, "/alert hanging.second_line >= 2")
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "⚠️"), what="the firing alert")
        mid = alerts_in(tg, GROUP, "⚠️")[0].result["message_id"]
        refused = tg.press(GROUP, USER, mid, "al:1:h")  # a plain user may not
        await tg.wait_for(lambda: tg.answers(refused), what="the refusal")
        assert tg.answers(refused)[0].params["text"].startswith("Only SalesPulse admins")
        qid = tg.press(GROUP, ADMIN, mid, "al:1:t")  # until tomorrow: the next local midnight
        await tg.wait_for(lambda: tg.answers(qid) and tg.edits(GROUP), what="the answer and the edit")
        assert tg.answers(qid)[0].params["text"] == "Done."
        assert tg.messages[mid]["text"] == ("⚠️ Alert #1: hanging.Second line >= 2. Now 2.\n"
                                            "Snoozed until 2024-03-13 00:00 UTC by User1001.")
        assert [b["callback_data"] for b in tg.messages[mid]["reply_markup"]["inline_keyboard"][0]] == ["al:1:r"]
        clock.now = at(13, 30)  # resolved while snoozed: nothing said
        await ticks(h)
        assert len(alerts_in(tg, GROUP)) == 1
        (listed,) = await h.ask(GROUP, ADMIN, "/alerts")
        assert listed.text.endswith("— ok; last value 1; snoozed until 2024-03-13 00:00 UTC")
        clock.now = at(0, 1, day=date(2024, 3, 13))  # the snooze is over: the chat hears it is resolved
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "✅"), what="the resolved message")
        await ticks(h)
        assert alerts_in(tg, GROUP)[-1].text == "✅ Resolved, alert #1: hanging.Second line >= 2. Now 0."
        assert len(alerts_in(tg, GROUP)) == 2
        stale = tg.press(GROUP, ADMIN, mid, "al:99:m")
        await tg.wait_for(lambda: tg.answers(stale), what="the answer about a rule that does not exist")
        assert tg.answers(stale)[0].params["text"] == "This alert no longer exists."


async def test_a_scoped_chat_gets_scoped_alerts_and_errors_go_to_the_admins(tg, engine, schema, data):
    from bot.subscriptions import Store

    data.tags((1, "team:north"))
    Store(engine, schema).subscribe(GROUP, None, datetime.min.time(), "UTC", None, ADMIN, "team:north")
    clock = Clock(at(12))
    async with harness(tg, engine, schema, data, clock) as h:
        reply = await added(h, "/alert hanging > 0")
        assert "hanging > 0 (scope team:north)" in reply.text
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "⚠️"), what="the firing alert")
        # team:north holds user 1 only: 1, not the company's 2
        assert alerts_in(tg, GROUP, "⚠️")[0].text == "⚠️ Alert #1: hanging > 0 (scope team:north). Now 1."
        (r,) = await h.ask(GROUP, ADMIN, "/alert hanging > 0 scope=*")  # no argument names a scope
        assert r.text.startswith("'hanging > 0 scope=*' is not a rule.")
        (listed,) = await h.ask(GROUP, USER, "/alerts")  # subscribed: its members see the rules
        assert "#1 hanging > 0 (scope team:north) — firing; last value 1" in listed.text
        # An admin makes the chat company-wide: the rule is not silently widened with it.
        Store(engine, schema).update(GROUP, scope=None)
        await tg.wait_for(lambda: [t for t in tg.texts(ADMIN) if "cannot be evaluated" in t], what="the admin notice")
        await ticks(h)
        (told,) = [t for t in tg.texts(ADMIN) if "cannot be evaluated" in t]
        assert told.startswith("SalesPulse: alert #1 in chat -4242 (hanging > 0) cannot be evaluated: the chat's "
                               "scope is now the whole company, the rule was made for team:north")
        assert len(alerts_in(tg, GROUP)) == 1 and not any("cannot" in t for t in tg.texts(GROUP))
        assert rule_rows(engine, schema)[0]["state"] == "error"


async def test_flow_rules_read_the_complete_day_after_the_delay(tg, engine, schema, source, monkeypatch):
    # the bands below are section 8's, worked out by hand; the bot reads whatever detector the
    # readings use (section 12's readings: tests/test_alerts_db.py::test_flow_readings_from_the_detector)
    from reports import alert_eval
    from reports.baselines import section8

    monkeypatch.setattr(alert_eval, "checked", section8)
    weekly = [18, 20, 22, 20, 19, 21, 20, 20]  # new payers on the 8 Thursdays before 03-14
    d = date(2024, 3, 14)
    uid = 0
    for k, n in enumerate(weekly, start=1):
        for _ in range(n):
            uid += 1
            source.payments((uid, datetime(2024, 3, 14, 12, tzinfo=UTC) - timedelta(days=7 * k), 10))
    source.payments((5000, datetime(2024, 3, 14, 9, tzinfo=UTC), 10))  # one new payer on the 14th
    clock = Clock(datetime(2024, 3, 15, 1, 59, tzinfo=UTC))  # 14th over, the 2 h delay not yet
    async with harness(tg, engine, schema, source, clock) as h:
        (reply,) = await h.ask(ADMIN, ADMIN, "/alert new_payers unusual")
        assert "Checked once a day for the day before, 2 h 00 min after midnight (UTC)." in reply.text
        await h.ask(ADMIN, ADMIN, "/alert revenue > 5")
        await ticks(h)
        rows = rule_rows(engine, schema)
        # read the 13th: a Wednesday with no payments, like the 7 Wednesdays since the data began
        # (band 0-3), and no revenue: both ok
        assert [(r["state"], r["last_day"], r["last_value"]) for r in rows] == [
            ("ok", date(2024, 3, 13), 0.0), ("ok", date(2024, 3, 13), 0.0)]
        clock.now = datetime(2024, 3, 15, 2, tzinfo=UTC)
        await tg.wait_for(lambda: len(alerts_in(tg, ADMIN, "⚠️")) == 2, what="two firing alerts")
        await ticks(h)
        texts = sorted(c.text for c in alerts_in(tg, ADMIN, "⚠️"))
        # 1 against a median of 20: usually 6.58-33.42 (3 sqrt(20) = 13.4164 either side); a
        # threshold rule shows the band too: revenue median 200, 3 sqrt(200) = 42.4264
        assert texts == ["⚠️ Alert #1: new_payers unusual. Now 1 on 2024-03-14 (usually 6.58–33.42).",
                         "⚠️ Alert #2: revenue > 5. Now 10 on 2024-03-14 (usually 157.57–242.43)."]
        with engine.connect() as conn:  # each day is read once, however many ticks pass
            per_day = conn.execute(sa.text(f"""select rule_id, report_date, count(*) from "{schema}".alert_log
                where kind = 'evaluation' group by 1, 2 order by 1, 2""")).all()
        assert [tuple(r) for r in per_day] == [(1, date(2024, 3, 13), 1), (1, d, 1), (2, date(2024, 3, 13), 1), (2, d, 1)]


async def test_bad_rules_and_strangers_are_answered_politely(tg, engine, schema, data):
    async with harness(tg, engine, schema, data, Clock(at(12))) as h:
        (r,) = await h.ask(GROUP, USER, "/alert hanging > 1")
        assert r.text.startswith("Sorry, only SalesPulse admins can do that.")
        (r,) = await h.ask(GROUP, ADMIN, "/alert hanging = 1")
        assert r.text.startswith("'hanging = 1' is not a rule. Use /alert TARGET OP NUMBER")
        (r,) = await h.ask(GROUP, ADMIN, "/alert hanging unusual")
        assert "has no usual band" in r.text
        (r,) = await h.ask(GROUP, ADMIN, "/alert off x")
        assert r.text.startswith("Use /alert off ID")
        (r,) = await h.ask(GROUP, ADMIN, "/alert off 5")
        assert r.text == "There is no alert #5 in this chat; /alerts lists them."
        assert rule_rows(engine, schema) == []


async def test_telegram_failures_retry_the_notice_and_a_blocked_chat_ends_it(tg, engine, schema, data):
    clock = Clock(at(11))
    async with harness(tg, engine, schema, data, clock) as h:
        await h.ask(GROUP, ADMIN, "/alert hanging > 1")
        await ticks(h, 2)
        tg.fault("sendMessage", "500", chat_id=GROUP, times=2)  # two checks' attempts fail
        clock.now = at(12)
        await tg.wait_for(lambda: alerts_in(tg, GROUP), timeout=20, what="the alert after two failures")
        await ticks(h)
        assert len(alerts_in(tg, GROUP)) == 1
        assert len([c for c in tg.sent(GROUP, "sendMessage", ok_only=False) if c.text.startswith("⚠️")]) == 3
        with engine.connect() as conn:
            assert conn.execute(sa.text(f'select state, attempts from "{schema}".alert_notices')).one() == ("sent", 3)
        tg.fault("sendMessage", "403", chat_id=GROUP, times=1)
        clock.now = at(13, 30)
        await tg.wait_for(lambda: [c for c in tg.sent(GROUP, "sendMessage", ok_only=False) if c.status == 403],
                          what="the blocked resolved message")
        await ticks(h)
        with engine.connect() as conn:
            last = conn.execute(sa.text(f"""select kind, state, last_error from "{schema}".alert_notices
                order by id desc limit 1""")).one()
        assert tuple(last) == ("resolved", "failed", "telegram: Forbidden: bot was blocked by the user")
        assert len(alerts_in(tg, GROUP)) == 1  # not retried


async def test_database_down_skips_checks_and_the_alert_comes_once_when_it_returns(tg, bot_engine, proxy, schema,
                                                                                   data):
    clock = Clock(at(11))
    async with harness(tg, bot_engine, schema, data, clock) as h:
        await h.ask(GROUP, ADMIN, "/alert hanging > 1")
        await ticks(h, 2)
        proxy.down()
        clock.now = at(12)
        await asyncio.sleep(0.5)  # a check that was under way when it went down has ended
        done = h.app.bot_data.alerts.ticks
        await asyncio.sleep(1.0)  # a few checks into a dead database: none completes, nothing recorded
        assert alerts_in(tg, GROUP) == [] and h.app.bot_data.alerts.ticks == done
        proxy.up()
        await tg.wait_for(lambda: alerts_in(tg, GROUP), timeout=30, what="the alert once the database is back")
        await ticks(h)
        assert [c.text for c in alerts_in(tg, GROUP)] == ["⚠️ Alert #1: hanging > 1. Now 2."]
        assert not any("cannot be evaluated" in t for t in tg.texts(ADMIN))  # an outage is not a broken rule


async def test_alerts_speak_the_chats_language(tg, engine, schema, data):
    from bot.subscriptions import Store

    Store(engine, schema).subscribe(GROUP, None, datetime.min.time(), "Europe/Moscow", "ru", ADMIN)
    async with harness(tg, engine, schema, data, Clock(at(12))) as h:
        (reply,) = await h.ask(GROUP, ADMIN, "/alert new_payers < 1")
        assert reply.text.startswith("Оповещение #1 добавлено: new_payers < 1. Проверка раз в день за прошедший "
                                     "день, через 2 ч 00 мин после полуночи (Europe/Moscow).")
        reply = await added(h, "/alert hanging > 1")
        await tg.wait_for(lambda: alerts_in(tg, GROUP, "⚠️"), what="the firing alert")
        (fired,) = alerts_in(tg, GROUP, "⚠️")
        assert fired.text == "⚠️ Оповещение #2: hanging > 1. Сейчас 2."
        labels = [b["text"] for b in tg.messages[fired.result["message_id"]]["reply_markup"]["inline_keyboard"][0]]
        assert labels == ["Отложить на 1 ч", "До завтра", "Без звука"]


async def test_an_alert_to_a_migrated_group_moves_the_subscription_with_the_rules(tg, engine, schema, data):
    from datetime import time

    from bot.subscriptions import Store

    new_id = -1_000_000_004_242
    Store(engine, schema).subscribe(GROUP, None, time(20), "UTC", None, ADMIN)  # no digest due at 12:00
    async with harness(tg, engine, schema, data, Clock(at(12))) as h:
        await h.ask(GROUP, ADMIN, "/alert hanging > 1")
        tg.fault("sendMessage", "migrate", chat_id=GROUP, new_chat_id=new_id)
        await tg.wait_for(lambda: alerts_in(tg, new_id, "⚠️"), what="the alert in the supergroup")
        assert [c.text for c in alerts_in(tg, new_id)] == ["⚠️ Alert #1: hanging > 1. Now 2."]
        store = Store(engine, schema)
        assert store.get(GROUP) is None and store.get(new_id).active
        assert h.app.job_queue.get_jobs_by_name(f"digest:{new_id}")
        assert not h.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
        assert rule_rows(engine, schema)[0]["chat_id"] == new_id
        assert any("supergroup" in t for t in tg.texts(ADMIN))
        assert tg.sent(GROUP, "sendMediaGroup") == []  # the digest did not do the moving


def test_the_scope_changed_reason_comes_from_the_catalogue():
    from bot.alerts.runner import scope_changed

    assert scope_changed(None, "team:north", "ru") == (
        "область чата теперь вся компания, а правило создано для team:north; удалите его и добавьте заново")
    assert scope_changed("team:south", None, "en").startswith("the chat's scope is now team:south, the rule was made "
                                                               "for whole company;")
