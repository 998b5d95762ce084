"""Scoped chats and invites end to end: the real Application against the fake Bot API and a real
Postgres. The fake digest builder records the scope of every build, so each test can say exactly
which scope a chat was given."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.commands.invites import InviteStore
from tests.faketg import ADMIN, GROUP, USER, BotHarness, Clock, fast_options

NOW = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)  # yesterday is 2024-03-14
MANAGER = 3003
OTHER_GROUP = -5151


@pytest.fixture
async def bot(tg, engine, schema):
    h = BotHarness(tg, engine, schema, clock=Clock(NOW))
    await h.start()
    yield h
    await h.stop()


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


async def make_invite(h: BotHarness, scope: str) -> tuple[str, str]:
    """/invite in the admin's private chat; returns (token, the whole reply)."""
    (reply,) = await h.ask(ADMIN, ADMIN, f"/invite {scope}")
    private = re.search(r"https://t\.me/salespulse_test_bot\?start=([A-Za-z0-9_-]+)", reply.text)
    group = re.search(r"https://t\.me/salespulse_test_bot\?startgroup=([A-Za-z0-9_-]+)", reply.text)
    assert private and group and private.group(1) == group.group(1), reply.text
    return private.group(1), reply.text


async def test_invite_answers_with_signed_deep_links(bot):
    token, text = await make_invite(bot, "manager:ivanov")
    assert len(token) <= 64 and "manager:ivanov" in text and "2024-03-22" in text  # 7 days
    (reply,) = await bot.ask(ADMIN, ADMIN, "/invite team north")
    assert "'team north' is not a scope" in reply.text and "/invite TAG" in reply.text
    (reply,) = await bot.ask(ADMIN, ADMIN, "/invite")
    assert "/invite TAG" in reply.text
    (reply,) = await bot.ask(USER, USER, "/invite team:north")
    assert "only SalesPulse admins" in reply.text


async def test_a_manager_who_opened_an_invite_sees_only_that_scope(bot, tg):
    token, _ = await make_invite(bot, "manager:ivanov")
    (reply,) = await bot.ask(MANAGER, MANAGER, f"/start {token}")
    assert "Welcome" in reply.text and "manager:ivanov" in reply.text and "08:45" in reply.text
    sub = bot.store.get(MANAGER)
    assert sub.active and sub.scope == "manager:ivanov" and sub.delivery_time == time(8, 45)
    assert bot.app.job_queue.get_jobs_by_name(f"digest:{MANAGER}")

    await bot.ask(MANAGER, MANAGER, "/report", replies=2)
    await bot.ask(MANAGER, MANAGER, "/report 2024-03-10 funnel", replies=2)
    assert bot.digest.scopes == ["manager:ivanov", "manager:ivanov"]
    assert bot.digest.calls[-1][3] == ("funnel",)

    # No argument of /report names a scope...
    (reply,) = await bot.ask(MANAGER, MANAGER, "/report scope=team:north")
    assert "unknown metric 'scope=team:north'" in reply.text
    # ...a non-admin cannot re-subscribe with another one...
    (reply,) = await bot.ask(MANAGER, MANAGER, "/subscribe 08:00 scope=team:north")
    assert "only SalesPulse admins" in reply.text
    # ...nor open a second valid invite in the same chat (it stays unused for its own chat).
    other, _ = await make_invite(bot, "team:north")
    (reply,) = await bot.ask(MANAGER, MANAGER, f"/start {other}")
    assert "already receives its digest" in reply.text and not _numbers(reply.text)
    assert bot.store.get(MANAGER).scope == "manager:ivanov"
    (reply,) = await bot.ask(OTHER_GROUP, USER, f"/start@salespulse_test_bot {other}")
    assert "Welcome" in reply.text and bot.store.get(OTHER_GROUP).scope == "team:north"
    assert bot.digest.scopes == ["manager:ivanov", "manager:ivanov"]  # nothing built meanwhile


async def test_an_invite_opened_in_a_group_subscribes_the_group(bot):
    token, _ = await make_invite(bot, "team:north & region:msk")
    # Adding the bot with ?startgroup=<token> makes Telegram send /start@bot <token> in the group.
    (reply,) = await bot.ask(GROUP, USER, f"/start@salespulse_test_bot {token}")
    assert "region:msk & team:north" in reply.text
    assert bot.store.get(GROUP).scope == "region:msk & team:north"
    # An admin in a scoped chat also gets only that chat's scope.
    await bot.ask(GROUP, ADMIN, "/report", replies=2)
    assert bot.digest.scopes == ["region:msk & team:north"]
    # /start without a token tells the chat its scope.
    (reply,) = await bot.ask(GROUP, USER, "/start")
    assert "Scope: region:msk & team:north" in reply.text


@pytest.mark.parametrize("token", ["forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a" * 64, "x y"])
async def test_a_forged_token_gets_a_polite_refusal_and_nothing_else(bot, token):
    (reply,) = await bot.ask(USER, USER, f"/start {token}")
    assert "not valid" in reply.text and not _numbers(reply.text)
    assert bot.store.get(USER) is None and bot.digest.calls == []
    (reply,) = await bot.ask(USER, USER, "/report")
    assert "not allowed" in reply.text


async def test_a_token_with_one_character_changed_is_forged(bot):
    token, _ = await make_invite(bot, "manager:ivanov")
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    (reply,) = await bot.ask(USER, USER, f"/start {flipped}")
    assert "not valid" in reply.text and bot.store.get(USER) is None


async def test_an_expired_and_a_reused_token_are_refused(bot):
    token, _ = await make_invite(bot, "manager:ivanov")
    (reply,) = await bot.ask(MANAGER, MANAGER, f"/start {token}")
    assert "Welcome" in reply.text
    (reply,) = await bot.ask(USER, USER, f"/start {token}")
    assert "already been used" in reply.text and not _numbers(reply.text)
    assert bot.store.get(USER) is None

    late, _ = await make_invite(bot, "team:north")
    bot.clock.now = NOW + timedelta(days=7)  # exactly its expiry second
    (reply,) = await bot.ask(USER, USER, f"/start {late}")
    assert "has expired" in reply.text and not _numbers(reply.text)
    assert bot.store.get(USER) is None and bot.digest.calls == []


async def test_an_admin_may_open_an_invite_in_a_scoped_chat(bot):
    first, _ = await make_invite(bot, "manager:ivanov")
    second, _ = await make_invite(bot, "team:north")
    await bot.ask(GROUP, USER, f"/start@salespulse_test_bot {first}")
    (reply,) = await bot.ask(GROUP, ADMIN, f"/start@salespulse_test_bot {second}")
    assert "team:north" in reply.text and bot.store.get(GROUP).scope == "team:north"


def test_two_concurrent_opens_consume_an_invite_once(engine, schema):
    from bot.subscriptions import Store

    invites = InviteStore(Store(engine, schema))
    invite_id = invites.create("manager:ivanov", ADMIN, NOW + timedelta(days=1))
    barrier, results = threading.Barrier(2), {}

    def open_in(chat_id: int) -> None:
        barrier.wait()
        results[chat_id] = invites.redeem(invite_id, chat_id, None, chat_id, NOW, time(8, 45), "UTC", False)

    threads = [threading.Thread(target=open_in, args=(c,)) for c in (USER, MANAGER)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.outcome for r in results.values()) == ["ok", "used"]
    winner = next(c for c, r in results.items() if r.outcome == "ok")
    loser = USER + MANAGER - winner
    assert Store(engine, schema).get(winner).scope == "manager:ivanov"
    assert Store(engine, schema).get(loser) is None


async def test_subscribe_with_a_scope_and_what_keeps_it(bot):
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 09:00 Europe/Berlin scope=team:north & region:msk")
    assert "region:msk & team:north" in reply.text and "09:00" in reply.text
    assert bot.store.get(GROUP).scope == "region:msk & team:north"
    (reply,) = await bot.ask(GROUP, ADMIN, "/subscribe 09:00 scope=team north")
    assert "'team north' is not a scope" in reply.text
    # Re-subscribing without scope= keeps the scope: nothing widens a chat by accident.
    await bot.ask(GROUP, ADMIN, "/subscribe 07:30")
    sub = bot.store.get(GROUP)
    assert sub.scope == "region:msk & team:north" and sub.delivery_time == time(7, 30)
    # Unsubscribed, the chat keeps its scope for an admin's /report there.
    await bot.ask(GROUP, ADMIN, "/unsubscribe")
    await bot.ask(GROUP, ADMIN, "/report", replies=2)
    assert bot.digest.scopes == ["region:msk & team:north"]
    # Only an explicit scope=* makes it company-wide again.
    await bot.ask(GROUP, ADMIN, "/subscribe scope=*")
    assert bot.store.get(GROUP).scope is None
    await bot.ask(GROUP, USER, "/report", replies=2)
    assert bot.digest.scopes[-1] is None


async def test_scheduled_digests_compute_each_distinct_scope_once(tg, engine, schema):
    """Six chats due at the same minute, two scopes: exactly two builds, each chat its own."""
    h = BotHarness(tg, engine, schema, clock=Clock(datetime(2024, 3, 15, 8, 50, tzinfo=UTC)),
                   options=fast_options(digest_buttons=True))
    chats = {-101: "team:north", -102: "team:north", -103: "team:north", 201: "manager:ivanov",
             202: "manager:ivanov", -104: "manager:ivanov"}
    for chat_id, scope in chats.items():
        h.store.subscribe(chat_id, None, time(8, 45), "UTC", None, ADMIN, scope=scope)
    import sqlalchemy as sa

    with engine.begin() as conn:  # made long ago: the 08:45 run is one they should have had
        conn.execute(sa.text(f'update "{schema}".subscriptions set created_at = :t'), {"t": "2000-01-01"})
    await h.start()
    try:
        await tg.wait_for(lambda: all(len(tg.sent(c)) == 2 for c in chats), what="digest and menu everywhere")
        await h.delivery.idle()
        assert sorted(h.digest.scopes) == ["manager:ivanov", "team:north"]
        for chat_id, scope in chats.items():
            digest, menu = tg.sent(chat_id)
            assert digest.method == "sendMediaGroup" and "2024-03-14" in digest.text
            assert menu.method == "sendMessage" and f"({scope})" in menu.text
            assert "reply_markup" in menu.params
    finally:
        await h.stop()


async def test_the_daily_job_of_a_scoped_chat_builds_its_scope_and_metrics(tg, engine, schema):
    h = BotHarness(tg, engine, schema, options=fast_options(digest_buttons=True),
                   clock=Clock(datetime(2024, 3, 15, 8, 45, 30, tzinfo=UTC)))  # just after the run
    h.store.subscribe(GROUP, None, time(8, 45), "UTC", "ru", ADMIN, scope="manager:ivanov")
    h.store.update(GROUP, metrics=("hanging", "funnel"))
    await h.start()
    try:
        (job,) = h.app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
        job.job.modify(next_run_time=datetime.now(UTC))  # the real APScheduler job, fired now
        await tg.wait_for(lambda: len(tg.sent(GROUP)) == 2, what="the scheduled digest and its menu")
        await h.delivery.idle()
        assert h.digest.scopes == ["manager:ivanov"] and h.digest.calls[0][2:] == ("ru", ("hanging", "funnel"))
        menu = tg.sent(GROUP)[1]
        assert "Ещё за" in menu.text and "(manager:ivanov)" in menu.text
        assert '"d:' in menu.params["reply_markup"] and ":funnel" in menu.params["reply_markup"]
        assert ":campaigns" not in menu.params["reply_markup"]  # only the chat's metrics
        assert h.ledger(GROUP)[-1]["state"] == "sent"
    finally:
        await h.stop()
